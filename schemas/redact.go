package schemas

import "strings"

// RedactedQuery replaces a query string (and fragment) that RedactQuery
// removed, so a reader still sees that the request had one.
const RedactedQuery = "?[redacted]"

// RedactQuery returns path (a request path or a whole URL) without its query
// string and fragment. Query values are where tokens travel (`?access_token=`,
// signed URLs), and their names can be secrets too (`?ghp_...`), so nothing
// after the first '?' or '#' survives: an event, a denial body or a log line
// built from the result cannot leak a credential through the query.
func RedactQuery(path string) string {
	i := strings.IndexAny(path, "?#")
	if i < 0 {
		return path
	}
	if i == len(path)-1 {
		return path[:i] // a bare "?" or "#" carries nothing worth marking
	}
	return path[:i] + RedactedQuery
}
