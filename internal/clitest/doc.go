// Package clitest drives the real bot-bottle binary through testscript
// scripts (testdata/script/*.txtar): the commands a person types, their
// exact output and exit codes. It holds no code of its own beyond the
// harness; it lives apart from package main so other tests there may keep
// their own TestMain.
package clitest
