// SPDX-License-Identifier: MIT
// The Go baseline echo server: standard library only, no requirements.
module coring.bench/echo-go

go 1.19
