/**
 * `GET /v1/models` and `GET /v1/models/{model}`: the models the simulator answers for, as
 * `{ object: "list", data: [{ id, object: "model", created, owned_by }] }` and one such model.
 * An id outside the list is a 404 `model_not_found`, worded as the service words it. The
 * other endpoints take any model name (they do not consult this list).
 * @module
 */
import { restError, sendJson } from "./errors.ts"
import { makeRestRoute } from "./route.ts"

/** The models listed, with the Unix time each is dated (the simulator's fixed choice). */
export const SIMULATED_MODELS: readonly { readonly id: string; readonly ownedBy: string }[] = [
  "gpt-realtime",
  "gpt-realtime-mini",
  "gpt-4o-realtime-preview",
  "gpt-4o-mini-realtime-preview",
  "gpt-4o-transcribe",
  "gpt-4o-mini-transcribe",
  "gpt-4o-transcribe-diarize",
  "gpt-transcribe",
  "gpt-live-transcribe",
  "gpt-realtime-whisper",
  "whisper-1",
  "gpt-4o-mini-tts",
  "tts-1",
  "tts-1-hd",
  "gpt-4o",
  "gpt-4o-mini",
  "gpt-4.1",
  "gpt-4.1-mini",
  "gpt-4.1-nano",
  "gpt-5",
  "gpt-5-mini",
  "gpt-5-nano",
  "o3",
  "o4-mini",
].map((id) => ({ id, ownedBy: id === "whisper-1" || id.startsWith("tts-1") ? "openai-internal" : "system" }))

/** The `created` date of every listed model (2025-01-01T00:00:00Z). */
const CREATED = 1_735_689_600

const modelObject = (model: (typeof SIMULATED_MODELS)[number]) => ({
  id: model.id,
  object: "model",
  created: CREATED,
  owned_by: model.ownedBy,
})

/** `GET /models`. */
export const modelsRoute = makeRestRoute(
  "models",
  "/models",
  ({ res, record }) => {
    record({ list: true })
    sendJson(res, 200, { object: "list", data: SIMULATED_MODELS.map(modelObject) })
  },
  "GET",
)

/** `GET /models/{model}`. */
export const modelRoute = makeRestRoute(
  "models",
  "/models/{model}",
  ({ res, ctx, record }) => {
    const id = ctx.params?.model ?? ""
    record({ model: id })
    const model = SIMULATED_MODELS.find((m) => m.id === id)
    if (model === undefined) {
      throw restError(404, `The model '${id}' does not exist or you do not have access to it.`, {
        code: "model_not_found",
        param: "model",
      })
    }
    sendJson(res, 200, modelObject(model))
  },
  "GET",
)
