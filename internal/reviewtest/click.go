package reviewtest

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// Click clicks the element sel on the review page once it is visible,
// trying again when the page redrew it between finding and clicking
// (the live stream refreshes the cards when it connects): Chrome then
// answers "Could not find node", and the click never happened.
func Click(sel string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		var err error
		for range 20 {
			if _, err = chromedp.WaitVisible(sel)(ctx, t); err != nil {
				return chromedp.Void{}, err
			}
			_, err = chromedp.Click(sel, chromedp.NodeVisible)(ctx, t)
			if err == nil || !strings.Contains(err.Error(), "Could not find node") {
				return chromedp.Void{}, err
			}
			time.Sleep(50 * time.Millisecond)
		}
		return chromedp.Void{}, fmt.Errorf("click %s: redrawn under every try: %w", sel, err)
	}
}
