// SPDX-License-Identifier: MIT
// The Go peer of coring's micro-benchmarks: standard library only, no requirements.
module coring.local/bench/peers

go 1.19
