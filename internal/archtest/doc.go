// Package archtest enforces the dependency arrows of ARCHITECTURE.md: from the edge
// (main, mcp) to the core (schemas), never back, and the standalone sidecar's
// packages free of the control plane's. It has only tests.
package archtest
