package main

import (
	"testing"

	"github.com/bot-bottle/bot-bottle/launcher"
)

func TestCompanionTakesTheInitCommand(t *testing.T) {
	if initCommand != launcher.InitCommand {
		t.Fatalf("bot-bottle-init answers %q, the launcher starts %q", initCommand, launcher.InitCommand)
	}
}
