package bpfprog

//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target bpfel -output-stem tapwatch -type tw_hdr -type tw_config -type tw_counter_key -type tw_counters -type tw_flow -type tw_flow_stats -type tw_host -type tw_mac -cflags "-O2 -g -Wall -I/usr/include/x86_64-linux-gnu" tw ./c/tapwatch.c
