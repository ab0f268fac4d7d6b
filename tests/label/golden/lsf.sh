#!/usr/bin/env bash

#BSUB -J alearn-pilot
#BSUB -q normal
#BSUB -P "matsci"
#BSUB -n 8
#BSUB -R "span[hosts=1]"
#BSUB -M 16000000
#BSUB -W 04:00
export OMP_NUM_THREADS=1
PYTHON -m distributed.cli.dask_worker tcp://SCHEDULER --name dummy-name --nthreads 1 --memory-limit 14.90GiB --nanny --death-timeout 60
