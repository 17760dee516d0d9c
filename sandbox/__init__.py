"""The SIBS Gateway v2 simulator (see sandbox/README.md): REST endpoints under /sandbox/api/v2,
encrypted notifications with SIBS's retry schedule, test values, and demo traffic."""
