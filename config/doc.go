// Package config reads heed's YAML configuration: Load and Parse return a
// heed.Config, and Decode reads the same syntax into any struct (heed
// serve's serve.Config embeds heed.Config and adds its own keys), with
// every problem reported at its file and line ("heed: heed.yaml:12: unknown
// key "limts" in upstreams[0] (did you mean "limits"?)").
//
// A string value that is exactly ${NAME} reads the environment variable
// NAME (see Decode), so that a file can be shared while its secrets stay in
// the environment:
//
//	admin_token: ${HEED_ADMIN_TOKEN}
//	api_tokens: ["${HEED_API_TOKEN}"]   # quoted: { and } end a plain value inside [ ]
//	store: ${HEED_REDIS_URL}
//
// It is the only package of heed that imports a YAML library, so that a
// program that builds its heed.Config in code links none.
package config
