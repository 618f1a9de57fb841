# tests/lab/lab.mk: the nested KVM lab (tests/lab/README.md). Included by the
# top Makefile; needs $(B) and $(Q) from it. The lab boots L1 (QEMU TCG with
# Debian's kvm-amd.ko) once and runs every scenario against ember's API there.
#   make lab-test               all scenarios (about 5-6 min; part of make test)
#   make lab-test LAB_ONLY=4    only the scenarios named (numbers or names)
#   make lab-bench [LAB_RUNS=N] bench/lab-boot.sh: ember vs QEMU microvm, N boots each
#   make lab-bench-vsock [LAB_VSOCK_BENCH="MIB RUNS CONNS"]  bench/vsock.sh: vsock
#                               guest -> host throughput and CONNECT latency beside AF_UNIX
#   make lab-demo               scenario 1 with the guest's console (make demo on PVM hosts)
#   make lab-bench-net [LAB_NET_SECS=N]  bench/net.sh: guest-to-guest iperf3, ember ring+switch
#                               vs ember TAP+bridge vs QEMU TAP+bridge (N s each, default 10)
# The lab puts $(B)/ember and, once built, $(B)/ember-switch (with the shared
# libraries ldd lists) into L1.

.PHONY: lab-test lab-bench lab-demo lab-bench-net lab-bench-vsock
LAB_ONLY ?=
LAB_RUNS ?= 3
LAB_NET_SECS ?= 10
LAB_VSOCK_BENCH ?= 64 3 50

lab-test: $(B)/ember $(B)/ember-switch
	$(Q)LAB_EMBER=$(B)/ember LAB_SWITCH=$(B)/ember-switch tests/lab/run.sh $(LAB_ONLY)

lab-bench: $(B)/ember
	$(Q)LAB_EMBER=$(B)/ember bench/lab-boot.sh $(LAB_RUNS)

lab-bench-vsock: $(B)/ember
	$(Q)LAB_EMBER=$(B)/ember bench/vsock.sh $(LAB_VSOCK_BENCH)

lab-demo: $(B)/ember
	$(Q)LAB_EMBER=$(B)/ember scripts/lab-demo.sh

lab-bench-net: $(B)/ember $(B)/ember-switch
	$(Q)LAB_EMBER=$(B)/ember LAB_SWITCH=$(B)/ember-switch bench/net.sh $(LAB_NET_SECS)
