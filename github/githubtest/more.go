package githubtest

// extraRoutes serves the API beyond commit statuses; none yet.
func extraRoutes() []route { return nil }
