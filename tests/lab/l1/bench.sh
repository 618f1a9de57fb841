#!/bin/sh
echo "bench: TODO"
