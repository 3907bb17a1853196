package params

// MaxNameSegments is maxNameSegments, for TestRequestDepth.
const MaxNameSegments = maxNameSegments
