/**
 * Server frames as they appear on the wire (protocol reference §2–§7), as JSON text.
 * Extra fields the decoders do not model (`object`, `expires_at`, …) are left in on purpose.
 */

const frame = (value: Record<string, unknown>): string => JSON.stringify(value)

/** A 100 ms chunk of 24 kHz PCM16 as base64 (4 800 bytes of silence). */
export const audioChunkBase64 = Buffer.alloc(4800).toString("base64")

/** GA transcription session, server VAD, one turn (§3). */
export const transcriptionTurn = {
  sessionCreated: frame({
    type: "session.created",
    event_id: "event_C9G5RJeJ2gF77mV7f2B1j",
    session: {
      type: "transcription",
      object: "realtime.transcription_session",
      id: "sess_C9G5QPteg4UIbotdKLoYQ",
      expires_at: 1_756_324_625,
      audio: {
        input: {
          format: { type: "audio/pcm", rate: 24_000 },
          noise_reduction: null,
          transcription: { model: "gpt-4o-transcribe", language: "en", prompt: "" },
          turn_detection: {
            type: "server_vad",
            threshold: 0.5,
            prefix_padding_ms: 300,
            silence_duration_ms: 500,
          },
        },
      },
      include: null,
    },
  }),
  sessionUpdated: frame({
    type: "session.updated",
    event_id: "event_C9G5RJeJ2gF77mV7f2B1k",
    session: {
      type: "transcription",
      object: "realtime.transcription_session",
      id: "sess_C9G5QPteg4UIbotdKLoYQ",
      audio: { input: { turn_detection: null, noise_reduction: { type: "near_field" } } },
    },
  }),
  speechStarted: frame({
    type: "input_audio_buffer.speech_started",
    event_id: "event_B1",
    audio_start_ms: 1_220,
    item_id: "item_C9G5T0vQ8bJ4s6Qn1q2Pz",
  }),
  speechStopped: frame({
    type: "input_audio_buffer.speech_stopped",
    event_id: "event_B2",
    audio_end_ms: 3_480,
    item_id: "item_C9G5T0vQ8bJ4s6Qn1q2Pz",
  }),
  committed: frame({
    type: "input_audio_buffer.committed",
    event_id: "event_B3",
    previous_item_id: null,
    item_id: "item_C9G5T0vQ8bJ4s6Qn1q2Pz",
  }),
  delta: frame({
    type: "conversation.item.input_audio_transcription.delta",
    event_id: "event_B4",
    item_id: "item_C9G5T0vQ8bJ4s6Qn1q2Pz",
    content_index: 0,
    delta: "Hello,",
    logprobs: [
      { token: "Hello", logprob: -0.0012, bytes: [72, 101, 108, 108, 111] },
      { token: ",", logprob: -0.31, bytes: [44] },
    ],
  }),
  completed: frame({
    type: "conversation.item.input_audio_transcription.completed",
    event_id: "event_B5",
    item_id: "item_C9G5T0vQ8bJ4s6Qn1q2Pz",
    content_index: 0,
    transcript: "Hello, how are you?",
    logprobs: null,
    usage: {
      type: "tokens",
      input_tokens: 42,
      output_tokens: 7,
      total_tokens: 49,
      input_token_details: { audio_tokens: 42, text_tokens: 0 },
    },
  }),
  completedWhisper: frame({
    type: "conversation.item.input_audio_transcription.completed",
    event_id: "event_B6",
    item_id: "item_C9G5T0vQ8bJ4s6Qn1q2Q0",
    content_index: 0,
    transcript: "Fine, thanks.",
    usage: { type: "duration", seconds: 2.4 },
  }),
  failed: frame({
    type: "conversation.item.input_audio_transcription.failed",
    event_id: "event_B7",
    item_id: "item_C9G5T0vQ8bJ4s6Qn1q2Q1",
    content_index: 0,
    error: {
      type: "transcription_error",
      code: "audio_unintelligible",
      message: "Could not transcribe",
      param: null,
    },
  }),
  segment: frame({
    type: "conversation.item.input_audio_transcription.segment",
    event_id: "event_B8",
    item_id: "item_C9G5T0vQ8bJ4s6Qn1q2Q2",
    content_index: 0,
    id: "seg_0001",
    text: "Good morning.",
    speaker: "A",
    start: 0.32,
    end: 1.05,
  }),
  cleared: frame({ type: "input_audio_buffer.cleared", event_id: "event_B9" }),
  timeoutTriggered: frame({
    type: "input_audio_buffer.timeout_triggered",
    event_id: "event_BA",
    audio_start_ms: 13_216,
    audio_end_ms: 19_232,
    item_id: "item_CEKKrf1KTGvemCPyiJTJ2",
  }),
  commitEmptyError: frame({
    type: "error",
    event_id: "event_BB",
    error: {
      type: "invalid_request_error",
      code: "input_audio_buffer_commit_empty",
      message:
        "Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has 0.00ms of audio.",
      param: null,
      event_id: null,
    },
  }),
  sessionExpired: frame({
    type: "error",
    event_id: "event_BC",
    error: {
      type: "invalid_request_error",
      code: "session_expired",
      message: "Your session hit the maximum duration of 60 minutes.",
      param: null,
      event_id: null,
    },
  }),
} as const

/** Legacy beta transcription session (§4). */
export const betaTranscription = {
  created: frame({
    type: "transcription_session.created",
    event_id: "event_Bx1",
    session: {
      id: "sess_BBwZc7cFV3XizEyKGDCGL",
      object: "realtime.transcription_session",
      expires_at: 1_742_188_264,
      modalities: ["audio", "text"],
      input_audio_format: "pcm16",
      input_audio_transcription: { model: "gpt-4o-transcribe", language: null, prompt: "" },
      turn_detection: {
        type: "server_vad",
        threshold: 0.5,
        prefix_padding_ms: 300,
        silence_duration_ms: 500,
      },
      input_audio_noise_reduction: null,
      include: null,
    },
  }),
  updated: frame({
    type: "transcription_session.updated",
    event_id: "event_Bx2",
    session: {
      id: "sess_BBwZc7cFV3XizEyKGDCGL",
      object: "realtime.transcription_session",
      input_audio_format: "pcm16",
      input_audio_noise_reduction: { type: "near_field" },
      include: ["item.input_audio_transcription.logprobs"],
    },
  }),
  betaSessionCreated: frame({
    type: "session.created",
    event_id: "event_Bx3",
    session: { id: "sess_Bx", object: "realtime.session", modalities: ["text", "audio"], voice: "alloy" },
  }),
} as const

const ids = { response_id: "resp_CAt6", item_id: "item_CAt7", output_index: 0, content_index: 0 }

/** GA speech-to-speech: an audio reply, a tool call, a barge-in (§5). */
export const conversation = {
  responseCreated: frame({
    type: "response.created",
    event_id: "event_C1",
    response: {
      object: "realtime.response",
      id: "resp_CAt6",
      status: "in_progress",
      status_details: null,
      output: [],
      conversation_id: "conv_CAt5",
      output_modalities: ["audio"],
      max_output_tokens: "inf",
      audio: { output: { format: { type: "audio/pcm", rate: 24_000 }, voice: "marin" } },
      usage: null,
      metadata: null,
    },
  }),
  rateLimits: frame({
    type: "rate_limits.updated",
    event_id: "event_C2",
    rate_limits: [
      { name: "requests", limit: 5_000, remaining: 4_999, reset_seconds: 0.012 },
      { name: "tokens", limit: 40_000, remaining: 39_120, reset_seconds: 1.32 },
    ],
  }),
  outputItemAdded: frame({
    type: "response.output_item.added",
    event_id: "event_C3",
    response_id: "resp_CAt6",
    output_index: 0,
    item: { id: "item_CAt7", type: "message", status: "in_progress", role: "assistant", content: [] },
  }),
  itemAdded: frame({
    type: "conversation.item.added",
    event_id: "event_C4",
    previous_item_id: "item_CAt4",
    item: {
      id: "item_CAt7",
      object: "realtime.item",
      type: "message",
      status: "in_progress",
      role: "assistant",
      content: [],
    },
  }),
  contentPartAdded: frame({
    type: "response.content_part.added",
    event_id: "event_C5",
    ...ids,
    part: { type: "audio", transcript: "" },
  }),
  audioDelta: frame({
    type: "response.output_audio.delta",
    event_id: "event_C6",
    ...ids,
    delta: audioChunkBase64,
  }),
  transcriptDelta: frame({
    type: "response.output_audio_transcript.delta",
    event_id: "event_C7",
    ...ids,
    delta: "Sure, ",
    obfuscation: "xK2",
  }),
  audioDone: frame({ type: "response.output_audio.done", event_id: "event_C8", ...ids }),
  transcriptDone: frame({
    type: "response.output_audio_transcript.done",
    event_id: "event_C9",
    ...ids,
    transcript: "Sure, I can help.",
  }),
  contentPartDone: frame({
    type: "response.content_part.done",
    event_id: "event_CA",
    ...ids,
    part: { type: "audio", transcript: "Sure, I can help." },
  }),
  outputItemDone: frame({
    type: "response.output_item.done",
    event_id: "event_CB",
    response_id: "resp_CAt6",
    output_index: 0,
    item: {
      id: "item_CAt7",
      object: "realtime.item",
      type: "message",
      status: "completed",
      role: "assistant",
      content: [{ type: "output_audio", transcript: "Sure, I can help." }],
    },
  }),
  itemDone: frame({
    type: "conversation.item.done",
    event_id: "event_CC",
    previous_item_id: "item_CAt4",
    item: {
      id: "item_CAt7",
      object: "realtime.item",
      type: "message",
      status: "completed",
      role: "assistant",
      content: [{ type: "output_audio", transcript: "Sure, I can help." }],
    },
  }),
  responseDone: frame({
    type: "response.done",
    event_id: "event_CD",
    response: {
      object: "realtime.response",
      id: "resp_CAt6",
      status: "completed",
      status_details: null,
      output: [
        {
          id: "item_CAt7",
          object: "realtime.item",
          type: "message",
          status: "completed",
          role: "assistant",
          content: [{ type: "output_audio", transcript: "Sure, I can help." }],
        },
      ],
      conversation_id: "conv_CAt5",
      output_modalities: ["audio"],
      max_output_tokens: "inf",
      usage: {
        total_tokens: 253,
        input_tokens: 132,
        output_tokens: 121,
        input_token_details: {
          text_tokens: 119,
          audio_tokens: 13,
          image_tokens: 0,
          cached_tokens: 64,
          cached_tokens_details: { text_tokens: 64, audio_tokens: 0, image_tokens: 0 },
        },
        output_token_details: { text_tokens: 30, audio_tokens: 91 },
      },
      metadata: null,
    },
  }),
  textDelta: frame({ type: "response.output_text.delta", event_id: "event_CE", ...ids, delta: "Hel" }),
  textDone: frame({ type: "response.output_text.done", event_id: "event_CF", ...ids, text: "Hello" }),
  toolItemAdded: frame({
    type: "response.output_item.added",
    event_id: "event_D1",
    response_id: "resp_D",
    output_index: 0,
    item: {
      id: "item_D1",
      object: "realtime.item",
      type: "function_call",
      status: "in_progress",
      name: "get_weather",
      call_id: "call_8xF2",
      arguments: "",
    },
  }),
  argsDelta: frame({
    type: "response.function_call_arguments.delta",
    event_id: "event_D2",
    response_id: "resp_D",
    item_id: "item_D1",
    output_index: 0,
    call_id: "call_8xF2",
    delta: '{"city":',
  }),
  argsDone: frame({
    type: "response.function_call_arguments.done",
    event_id: "event_D3",
    response_id: "resp_D",
    item_id: "item_D1",
    output_index: 0,
    call_id: "call_8xF2",
    name: "get_weather",
    arguments: '{"city":"Paris"}',
  }),
  cancelledDone: frame({
    type: "response.done",
    event_id: "event_E1",
    response: {
      object: "realtime.response",
      id: "resp_E",
      status: "cancelled",
      status_details: { type: "cancelled", reason: "turn_detected" },
      output: [],
      usage: { total_tokens: 40, input_tokens: 30, output_tokens: 10 },
    },
  }),
  truncated: frame({
    type: "conversation.item.truncated",
    event_id: "event_E2",
    item_id: "item_CAt7",
    content_index: 0,
    audio_end_ms: 1_500,
  }),
  deleted: frame({ type: "conversation.item.deleted", event_id: "event_E3", item_id: "item_CAt7" }),
  retrieved: frame({
    type: "conversation.item.retrieved",
    event_id: "event_E4",
    item: {
      id: "item_U1",
      object: "realtime.item",
      type: "message",
      status: "completed",
      role: "user",
      content: [{ type: "input_audio", transcript: "Hi there", audio: audioChunkBase64 }],
    },
  }),
  itemCreatedBeta: frame({
    type: "conversation.item.created",
    event_id: "event_E5",
    previous_item_id: null,
    item: { id: "item_F1", type: "function_call_output", call_id: "call_8xF2", output: '{"temp":21}' },
  }),
  mcpItemAdded: frame({
    type: "conversation.item.added",
    event_id: "event_E6",
    item: { id: "mcp_1", type: "mcp_call", server_label: "docs", name: "search", arguments: "{}" },
  }),
  outputAudioBufferStarted: frame({
    type: "output_audio_buffer.started",
    event_id: "event_E7",
    response_id: "resp_E",
  }),
  activeResponseError: frame({
    type: "error",
    event_id: "event_E8",
    error: {
      type: "invalid_request_error",
      code: "conversation_already_has_active_response",
      message:
        "Conversation already has an active response in progress: resp_CAt6. Wait until the response is finished before creating a new one.",
      param: null,
      event_id: "client_evt_42",
    },
  }),
} as const

/** Beta names of the response streaming events (§6). */
export const betaResponse = {
  audioDelta: frame({ type: "response.audio.delta", event_id: "event_X1", ...ids, delta: audioChunkBase64 }),
  audioDone: frame({ type: "response.audio.done", event_id: "event_X2", ...ids }),
  transcriptDelta: frame({
    type: "response.audio_transcript.delta",
    event_id: "event_X3",
    ...ids,
    delta: "Hi",
  }),
  transcriptDone: frame({
    type: "response.audio_transcript.done",
    event_id: "event_X4",
    ...ids,
    transcript: "Hi",
  }),
  textDelta: frame({ type: "response.text.delta", event_id: "event_X5", ...ids, delta: "Hi" }),
  textDone: frame({ type: "response.text.done", event_id: "event_X6", ...ids, text: "Hi" }),
} as const

const responseObject = (status: string, extra: Record<string, unknown> = {}) => ({
  id: "resp_68b1",
  object: "response",
  created_at: 1_756_315_657,
  status,
  model: "gpt-4.1-mini-2025-04-14",
  previous_response_id: null,
  output: [],
  usage: null,
  incomplete_details: null,
  error: null,
  instructions: "You are terse.",
  tools: [],
  store: false,
  ...extra,
})

/** Responses API WebSocket mode (§7): a text turn, a tool turn, the terminal events, both error shapes. */
export const responses = {
  created: frame({ type: "response.created", sequence_number: 0, response: responseObject("in_progress") }),
  inProgress: frame({
    type: "response.in_progress",
    sequence_number: 1,
    response: responseObject("in_progress"),
  }),
  queued: frame({ type: "response.queued", sequence_number: 0, response: responseObject("queued") }),
  messageAdded: frame({
    type: "response.output_item.added",
    sequence_number: 2,
    output_index: 0,
    item: { id: "msg_68b1", type: "message", status: "in_progress", content: [], role: "assistant" },
  }),
  partAdded: frame({
    type: "response.content_part.added",
    sequence_number: 3,
    item_id: "msg_68b1",
    output_index: 0,
    content_index: 0,
    part: { type: "output_text", annotations: [], logprobs: [], text: "" },
  }),
  textDelta: frame({
    type: "response.output_text.delta",
    sequence_number: 4,
    item_id: "msg_68b1",
    output_index: 0,
    content_index: 0,
    delta: "Hi",
    logprobs: [],
    obfuscation: "pQ",
  }),
  textDone: frame({
    type: "response.output_text.done",
    sequence_number: 5,
    item_id: "msg_68b1",
    output_index: 0,
    content_index: 0,
    text: "Hi there.",
    logprobs: [],
  }),
  partDone: frame({
    type: "response.content_part.done",
    sequence_number: 6,
    item_id: "msg_68b1",
    output_index: 0,
    content_index: 0,
    part: { type: "output_text", annotations: [], logprobs: [], text: "Hi there." },
  }),
  messageDone: frame({
    type: "response.output_item.done",
    sequence_number: 7,
    output_index: 0,
    item: {
      id: "msg_68b1",
      type: "message",
      status: "completed",
      role: "assistant",
      content: [{ type: "output_text", annotations: [], logprobs: [], text: "Hi there." }],
    },
  }),
  completed: frame({
    type: "response.completed",
    sequence_number: 8,
    response: responseObject("completed", {
      output: [
        {
          id: "rs_68b1",
          type: "reasoning",
          summary: [],
          encrypted_content: "gAAAAABo",
        },
        {
          id: "msg_68b1",
          type: "message",
          status: "completed",
          role: "assistant",
          content: [{ type: "output_text", annotations: [], text: "Hi there." }],
        },
      ],
      usage: {
        input_tokens: 1_200,
        input_tokens_details: { cached_tokens: 1_024 },
        output_tokens: 12,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: 1_212,
      },
    }),
  }),
  toolAdded: frame({
    type: "response.output_item.added",
    sequence_number: 2,
    output_index: 0,
    item: {
      id: "fc_68b2",
      type: "function_call",
      status: "in_progress",
      arguments: "",
      call_id: "call_Qw",
      name: "lookup",
    },
  }),
  argsDelta: frame({
    type: "response.function_call_arguments.delta",
    sequence_number: 3,
    item_id: "fc_68b2",
    output_index: 0,
    delta: '{"q":',
    obfuscation: "aa",
  }),
  argsDone: frame({
    type: "response.function_call_arguments.done",
    sequence_number: 4,
    item_id: "fc_68b2",
    output_index: 0,
    arguments: '{"q":"x"}',
  }),
  failed: frame({
    type: "response.failed",
    sequence_number: 3,
    response: responseObject("failed", {
      error: { code: "server_error", message: "The server had an error." },
    }),
  }),
  incomplete: frame({
    type: "response.incomplete",
    sequence_number: 9,
    response: responseObject("incomplete", { incomplete_details: { reason: "max_output_tokens" } }),
  }),
  nestedError: frame({
    type: "error",
    status: 400,
    error: {
      type: "invalid_request_error",
      code: "previous_response_not_found",
      message: "Previous response with id 'resp_abc' not found.",
      param: "previous_response_id",
    },
  }),
  rateLimitError: frame({
    type: "error",
    status: 429,
    error: {
      type: "rate_limit_error",
      code: "rate_limit_exceeded",
      message: "Rate limit reached.",
      param: null,
      headers: { "retry-after-ms": "1200", "x-ratelimit-remaining-tokens": "0" },
    },
  }),
  flatError: frame({
    type: "error",
    code: "previous_response_not_found",
    message: "Previous response with id 'resp_abc' not found.",
    param: "previous_response_id",
    sequence_number: 1,
  }),
  reasoningDelta: frame({
    type: "response.reasoning_summary_text.delta",
    sequence_number: 3,
    item_id: "rs_68b1",
    output_index: 0,
    summary_index: 0,
    delta: "Thinking",
  }),
} as const
