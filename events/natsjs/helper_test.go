package natsjs_test

import "fmt"

func prefixFor(n int) string { return fmt.Sprintf("t%d", n) }
