#!/usr/bin/env bash

#SBATCH -J alearn-pilot
#SBATCH -p compute
#SBATCH -A chem123
#SBATCH -n 1
#SBATCH --cpus-per-task=32
#SBATCH --mem=60G
#SBATCH -t 02:00:00
#SBATCH --constraint=cpu
export OMP_NUM_THREADS=1
module load qe/7.2
PYTHON -m distributed.cli.dask_worker tcp://SCHEDULER --name dummy-name --nthreads 1 --memory-limit 59.60GiB --nanny --death-timeout 60
