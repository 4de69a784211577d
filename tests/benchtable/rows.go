package main

// rows is the comparison table `make bench` prints. Ratios > 1 mean we are
// faster (throughput higher, or time lower) than the reference.
var rows = []row{}
