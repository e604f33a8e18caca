// Package clitest drives the real bot-bottle binary through testscript
// scripts (testdata/script/*.txtar): the commands a person types, their
// exact output and exit codes. It holds no code of its own beyond the
// harness; it lives apart from the end-to-end tests beside main.go so each
// keeps its own TestMain.
package clitest
