package sqlite

// FollowReads is how many reads the store's followers have made.
func FollowReads(s *Store) uint64 { return s.followReads.Load() }
