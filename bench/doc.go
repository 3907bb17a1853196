// Package bench holds the benchmarks that are run by hand (see
// BENCHMARKS.md): API throughput on SQLite and PostgreSQL, and the data
// plane against haproxy and nginx (scripts beside this file).
package bench
