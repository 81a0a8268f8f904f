// Package bench holds heed's benchmarks that compare it with a baseline or
// a peer in the same run: the cost heed adds to each request, and scenario
// benchmarks against other clients. Figures and how they were taken are in
// RESULTS.md beside this file.
package bench
