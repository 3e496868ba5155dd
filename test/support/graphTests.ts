/** How long a model-based test may take (pure CPU: seconds when quiet, far more on a loaded machine). */
export const GRAPH_TEST_TIMEOUT_MS = 180_000
