// Package llm prices LLM API requests in tokens before they are sent and
// reads what they cost from their responses, for OpenAI's API (and Azure
// OpenAI's) and Anthropic's Messages API. It is pure: no I/O, no clock, no
// package-level mutable state, standard library only.
//
// Three things, used by heed's core around each request:
//
//   - Vendor.Estimate: a request body → Estimate{Input, Output, ...}, what
//     to reserve against input, output and total token limits.
//   - Vendor.Meter: a Meter the response body is copied into as it passes
//     to the caller (SSE streams included, chunk by chunk), which finds the
//     usage the API reports.
//   - Vendor.Charged: that usage in the units rate limits count, to settle
//     the reservation.
//
// All three are safe for concurrent use except a Meter, which belongs to
// one response: its Write and Usage must not run at the same time.
// Estimate and Meter never panic and never fail, whatever the bytes.
//
// # Which requests are priced
//
// OpenAI: paths ending in /chat/completions, /completions, /embeddings and
// /responses (so /v1/..., Azure's /openai/deployments/{d}/... and
// /openai/v1/...; for Azure deployments the model is the body's, else the
// deployment name). Anthropic: /v1/messages and the legacy /v1/complete;
// /v1/messages/count_tokens and /v1/messages/batches are not priced. Any
// other path, an empty body (a GET listing stored completions) and the
// vendor None give ok false: the request costs only a request.
// VendorOfHost picks the vendor from api.openai.com, *.openai.azure.com,
// *.cognitiveservices.azure.com and *.services.ai.azure.com (the hosts of
// Microsoft's "Azure OpenAI in Azure AI Foundry Models" REST reference),
// and api.anthropic.com.
//
// # Input: text
//
// Text is counted by EstimateOptions.Tokenizer; nil means CharEstimator,
// a character-class estimate with no vocabulary. Exact counts for OpenAI
// models come from package llm/tiktoken (o200k_base for gpt-4o, gpt-4.1,
// gpt-4.5, gpt-5, the o-series and unknown models; cl100k_base for gpt-4,
// gpt-3.5, text-embedding-3 and ada: see OpenAIEncoding), which is kept out
// of this package because of its weight. Measured on the project's CI
// machine (Go 1.26.8, linux/amd64), a program importing
// github.com/tiktoken-go/tokenizer v0.10.0 without using it: init 0.2 ms and
// 40 KB of heap (the encodings load lazily), but the binary grows from 2.4
// MB to 12.3 MB (14.8 MB through its root package, which links all four
// vocabularies) and RSS at start from 2.3 MB to 4.2 MB; the first count
// loads o200k_base in 40-100 ms and 7 MB of heap, cl100k_base in 12-23 ms
// and 3.5 MB more (RSS 22 MB). Every importer of heed would pay the 10 MB,
// so heed's root package uses CharEstimator and heed serve wires in
// tiktoken.Tokenizer for OpenAI upstreams.
//
// Chat Completions (and Responses items) follow the chat format of OpenAI's
// cookbook ("How to count tokens with tiktoken"): 3 tokens per message
// plus its string values (role, content, name, tool_call_id ...), 1 more
// for a name, 3 to prime the reply; with llm/tiktoken this reproduces the
// cookbook's six API-reported counts exactly (124 and 129 prompt tokens for
// its chat example on gpt-4o and gpt-4, 101 and 105 for its tools example).
// Content arrays count their text parts; tool calls their name and
// arguments plus 3 (heed's allowance: the cookbook gives none). Tool and
// legacy function definitions follow the cookbook's rule: each function 7
// tokens (10 on cl100k models) plus "name:description", 3 if it has
// properties, each property 3 plus "key:type:description", an enum -3 plus
// 3 and the text of each item, and 12 for the tools together; schema parts
// the rule leaves out (nested properties, items, anyOf), tools that are not
// functions, response_format and text.format schemas count as their JSON
// text. Legacy Completions and Embeddings count each prompt string, and 1
// per token id of a pre-tokenized prompt. The Responses API's
// instructions count as a system message, a string input as one user
// message; context referenced by previous_response_id or conversation is
// not in the body and is not priced (settling corrects it).
//
// Anthropic documents no message framing and publishes no tokenizer: text
// is counted by CharEstimator's Claude weights (each the larger of the
// cl100k_base weight and 1.35 times the o200k_base one, since Anthropic
// documents that Claude Opus 4.7's tokenizer yields up to 35% more tokens
// than its predecessors), each message costs 4 and the request 3 (so that
// the "Token counting" guide's examples, 14 and 403 input tokens, are
// estimated at 22 and 509). System (a string or text blocks), messages
// (strings or text, image, document, tool_use, tool_result, thinking and
// other blocks: their text fields, tool_use input as its JSON text) and
// tool definitions (each as its JSON text) are counted; with tools, the
// tool-use system prompt of Anthropic's "Tool use" pricing table is added
// once: 346 tokens (tool_choice auto or none) or 313 (any or tool) for
// Claude 3.5 Sonnet (October), 3.7 Sonnet and Claude 4 and later; 530/281
// for Claude 3 Opus, 159/235 for Claude 3 Sonnet, 264/340 for Claude 3 and
// 3.5 Haiku; 530 for a model it cannot place.
//
// Measured error of CharEstimator (testdata/prompts: 35 prompts of English
// prose, code, JSON, logs, CSV, tokens and hashes, ten scripts, emoji, chat
// transcripts and tool calls, each priced as a whole request; the weights
// were fitted on the same prompts, so these are in-sample figures; go test
// ./llm/tiktoken -run TestEstimateError -v): against exact o200k_base
// counts the estimate/exact ratio has median 1.19, p90 1.44, max 2.07 (Hindi),
// min 0.99, and 1 prompt of 35 is under (by 1%); against cl100k_base median
// 1.18, p90 1.37, max 1.98, none under. For Anthropic, against an o200k
// proxy (the same request framing with text counted by o200k_base; a proxy,
// not Claude's tokenizer): median 1.63, p90 2.49, max 3.50, none under.
// Random identifiers and base64 cost more tokens per character than prose;
// the estimator's case and digit switches account for them.
//
// # Input: media
//
// Images whose bytes are in the body (a base64 data: URL for OpenAI, a
// base64 source for Anthropic) are sized from the first 64 KiB of their
// base64 (PNG, GIF, JPEG and WebP headers); others (a URL, a file id)
// cost the rule's maximum.
//
// OpenAI ("Images and vision" guide, "Calculating costs"): detail low costs
// the base; high and auto scale the image to fit 2048×2048, then its
// shortest side to 768 px, and cost base + tile × 512 px tiles, with (base,
// tile) (85, 170) for gpt-4o, gpt-4.1, gpt-4.5 and unknown models, (2833,
// 5667) for gpt-4o-mini, (75, 150) for o1 and o3, (70, 140) for gpt-5,
// (65, 129) for computer-use; an image of unknown size costs 8 tiles (768×
// 2048, the most after scaling): 1445 tokens on gpt-4o. gpt-4.1-mini and
// gpt-5-mini (×1.62), gpt-4.1-nano and gpt-5-nano (×2.46) and o4-mini
// (×1.72) cost 32 px patches, at most 1536, times the multiplier. Audio
// input costs 1 token per 100 ms (the Realtime guide), its duration taken
// from its base64 size at 16,000 bytes/s for wav and 4,000 (32 kbit/s) for
// others, so that it errs high. PDFs (chat's file, Responses' input_file)
// cost per page 3,000 text tokens (the top of Anthropic's documented
// 1,500-3,000; OpenAI gives no figure) plus the model's largest image.
//
// Anthropic ("Vision" guide): width × height / 750 tokens or ⌈w/28⌉ × ⌈h/28⌉
// visual tokens (the guide's newer wording), whichever is larger, after
// scaling down to at most 1568 px on the long edge and 1,600 tokens, or
// for Claude Opus 4.7 and models it cannot place in an older generation
// 2576 px and 4,784 tokens; an image of unknown size costs that maximum.
// PDF documents ("PDF support" guide) cost 3,000 text tokens plus the
// maximum image per page; pages are counted from "/Type /Page" objects in
// the first 1 MiB of base64 (extrapolated), else taken as 10. Text
// documents count as text.
//
// # Output, streams, rough bodies
//
// Output is max_completion_tokens, max_tokens, max_output_tokens or
// max_tokens_to_sample (the largest named) times n or best_of (at most 128);
// for legacy Completions also times the number of prompts, with the API's
// default of 16 when none is named; embeddings 0; otherwise
// EstimateOptions.DefaultOutput (0 means 4096). Estimate.UsageReported is
// false only for an OpenAI Chat or Completions stream without
// stream_options.include_usage, whose response never reports usage: the
// reservation then stands.
//
// A body cut at the caller's bound (len(body) < size) is priced as read,
// and the unread bytes at the read text's density in tokens per byte,
// between 0.25 and 0.6; a body cut inside a media payload takes the rest to
// be that payload, already charged its maximum (the core should read at
// least 1 MiB so that text after an image is seen). A body that does not
// parse costs 0.6 tokens per byte of its size (the densest prompt in
// testdata, a JWT and a hash, is 0.59 o200k tokens per byte; prose 0.2 to
// 0.3). Either sets Estimate.Rough. Nesting
// deeper than 512 is treated as a syntax error.
//
// # Usage and charging
//
// Meter reads a JSON body's top-level "usage" (a byte-wise state machine
// that keeps only the current top-level key and at most MaxUsageJSON = 16
// KiB of the usage value, so a body of any size costs constant memory), or
// an SSE stream's events (lines and events of at most MaxEventBytes = 64
// KiB; longer ones are skipped): "usage" at the top level (OpenAI's final
// include_usage chunk with empty choices; Anthropic's message_delta), in
// "message" (Anthropic's message_start) or in "response" (the Responses
// API's response.completed). Stream usage is merged field by field by
// maximum, because Anthropic's message_delta usage is cumulative, not
// additive; a stream cut short reports the latest usage seen.
//
// Charged follows the vendors' "Rate limits" pages: OpenAI counts
// prompt_tokens, cached ones included, and completion_tokens; Anthropic's
// ITPM counts input_tokens + cache_creation_input_tokens, and
// cache_read_input_tokens only for the models its page marks (the Claude 3
// generation: every model named claude-3*, which errs high for 3.7 Sonnet).
package llm
