#!/usr/bin/env bash

#PBS -N alearn-pilot
#PBS -q workq
#PBS -A proj7
#PBS -l select=1:ncpus=16:mem=32GB
#PBS -l walltime=01:30:00
export OMP_NUM_THREADS=1
module load vasp/6.4
PYTHON -m distributed.cli.dask_worker tcp://SCHEDULER --name dummy-name --nthreads 1 --memory-limit 29.80GiB --nanny --death-timeout 60
