package testfs

import (
	"database/sql"
	"math/rand/v2"
	"os"
	"testing"

	_ "modernc.org/sqlite" // the driver, to find the page to damage
)

// DamagePage overwrites one page of the b-tree named tree (a table or an
// index) in the SQLite file at path with random bytes: its root page
// when root, else a leaf in its middle. Page 1, the file's header, is
// never touched, so SQLite still opens the file as a database, as it
// would one that a disk fault or a stray write damaged. The file must not
// be open (its write-ahead log checkpointed into it).
func DamagePage(t testing.TB, path, tree string, root bool) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	var pageSize, page int64
	q := "SELECT pageno FROM dbstat WHERE name = ?1 AND path = '/'"
	if !root {
		q = "SELECT pageno FROM dbstat WHERE name = ?1 AND pagetype = 'leaf' ORDER BY pageno LIMIT 1 OFFSET (SELECT COUNT(*) / 2 FROM dbstat WHERE name = ?1 AND pagetype = 'leaf')"
	}
	err = db.QueryRow("PRAGMA page_size").Scan(&pageSize)
	if err == nil {
		err = db.QueryRow(q, tree).Scan(&page)
	}
	db.Close()
	if err != nil || page < 2 {
		t.Fatalf("find a page of %s in %s: page %d, %v", tree, path, page, err)
	}
	garbage := make([]byte, pageSize)
	r := rand.New(rand.NewPCG(uint64(page), 7))
	for i := range garbage {
		garbage[i] = byte(r.Uint32())
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(garbage, (page-1)*pageSize); err != nil {
		t.Fatal(err)
	}
	t.Logf("overwrote page %d (%s) of %s", page, tree, path)
}
