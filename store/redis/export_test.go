package redis

// DecideAlways makes s send every acquire (without a concurrency cap) and
// every settlement through decide.lua, even alone, so that the contract
// suite checks decide.lua as it checks acquire.lua and settle.lua. Call it
// before s is used.
func DecideAlways(s *Store) { s.pipe.always = true }
