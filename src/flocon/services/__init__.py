"""Use cases: each public function owns its transaction or runs inside the caller's."""
