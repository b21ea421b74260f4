"""Business rules. Each public function is one transaction and the only home of its rule."""
