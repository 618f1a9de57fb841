# tests/lab/lab.mk: the nested KVM lab (tests/lab/README.md). Included by the
# top Makefile; needs $(B) and $(Q) from it. The lab boots L1 (QEMU TCG with
# Debian's kvm-amd.ko) once and runs every scenario against ember's API there.
#   make lab-test               all scenarios (about 2.5-3.5 min; part of make test)
#   make lab-test LAB_ONLY=4    only the scenarios named (numbers or names)
#   make lab-bench [LAB_RUNS=N] bench/lab-boot.sh: ember vs QEMU microvm, N boots each
#   make lab-demo               scenario 1 with the guest's console (make demo on PVM hosts)
# The lab puts $(B)/ember and, once built, $(B)/ember-switch (with the shared
# libraries ldd lists) into L1.

.PHONY: lab-test lab-bench lab-demo
LAB_ONLY ?=
LAB_RUNS ?= 3

lab-test: $(B)/ember
	$(Q)LAB_EMBER=$(B)/ember LAB_SWITCH=$(B)/ember-switch tests/lab/run.sh $(LAB_ONLY)

lab-bench: $(B)/ember
	$(Q)LAB_EMBER=$(B)/ember bench/lab-boot.sh $(LAB_RUNS)

lab-demo: $(B)/ember
	$(Q)LAB_EMBER=$(B)/ember scripts/lab-demo.sh
