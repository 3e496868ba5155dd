/**
 * The simulator's REST endpoints: `POST /audio/transcriptions`, `POST /audio/translations`,
 * `POST /audio/speech`, `POST /chat/completions`, `GET /models` and `GET /models/{model}`,
 * mounted by the server under `/v1` and the Azure path shapes.
 * @module
 */
import type { HttpRoute } from "../types.ts"
import { chatCompletionsRoute } from "./chat.ts"
import { modelRoute, modelsRoute } from "./models.ts"
import { speechRoute } from "./speech.ts"
import { transcriptionsRoute, translationsRoute } from "./transcriptions.ts"

export { MAX_BODY_BYTES } from "./body.ts"
export { chatCompletionsRoute, isReasoningModel } from "./chat.ts"
export { type OpenAIErrorBody, RestError, type RestErrorReason } from "./errors.ts"
export { modelRoute, modelsRoute, SIMULATED_MODELS } from "./models.ts"
export { MultipartError, type MultipartErrorReason, type MultipartPart, parseMultipart } from "./multipart.ts"
export { speechDurationMs, synthesizeSpeech } from "./signal.ts"
export { SPEECH_CHUNK_BYTES, speechRoute } from "./speech.ts"
export { transcriptionsRoute, translationsRoute } from "./transcriptions.ts"

/** Every REST route of the simulator, for the server's router. */
export const restRoutes: readonly HttpRoute[] = [
  transcriptionsRoute,
  translationsRoute,
  speechRoute,
  chatCompletionsRoute,
  modelsRoute,
  modelRoute,
]
