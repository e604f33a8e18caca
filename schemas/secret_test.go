package schemas

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestSecretNeverPrints(t *testing.T) {
	const value = "ghp_0123456789abcdefSECRET"
	s := NewSecret(value)
	if s.Reveal() != value || s.IsZero() {
		t.Fatal("Reveal lost the value")
	}
	holder := struct {
		Token Secret
		Map   map[string]Secret
	}{s, map[string]Secret{"EGRESS_TOKEN_0": s}}
	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T"} {
		outputs = append(outputs, fmt.Sprintf(verb, s), fmt.Sprintf(verb, holder), fmt.Sprintf(verb, &holder))
	}
	j, _ := json.Marshal(holder)
	y, _ := yaml.Marshal(holder)
	var logBuf strings.Builder
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("x", "token", s, "holder", holder)
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("x", "token", s)
	outputs = append(outputs, string(j), string(y), logBuf.String(), fmt.Errorf("wrap: %v", s).Error(),
		errors.New(fmt.Sprint(s)).Error())
	for _, out := range outputs {
		if strings.Contains(out, value) || strings.Contains(out, fmt.Sprintf("%x", value)) {
			t.Fatalf("secret leaked: %s", out)
		}
	}
	if !strings.Contains(string(j), "[redacted]") {
		t.Fatalf("json = %s", j)
	}
}
