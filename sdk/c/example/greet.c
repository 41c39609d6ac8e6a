/* greet: an onex-host compute node in C. Its "greet" computation turns
 * {"name": "world"} into {"greeting": "Hello, world!"}; the config key salutation
 * (--config salutation=Hi) replaces "Hello".
 *
 * The manifest declares the input's JSON Schema (input_schema): the host checks every
 * input against it before calling the plugin, so {"name": 5} is refused at the door with
 * invalid_input and the path ("/name: want string, got number").
 *
 * Build: clang --target=wasm32 -O2 -ffreestanding -nostdlib -Wl,--no-entry -o greet.wasm greet.c
 */
#define ONEX_COMPUTE
#define ONEX_MANIFEST                                                                       \
	"{\"name\":\"greet\",\"version\":\"0.1.0\",\"kind\":\"compute\","                   \
	"\"description\":\"Greets people by name\",\"deterministic\":true,"                  \
	"\"computations\":[{\"name\":\"greet\",\"description\":\"Greet someone by name\","       \
	"\"input_schema\":{\"type\":\"object\",\"required\":[\"name\"],"                        \
	"\"properties\":{\"name\":{\"type\":\"string\",\"minLength\":1}}}}],"                  \
	"\"config\":[{\"name\":\"salutation\",\"default\":\"Hello\"}]}"
#include "../onex.h"

int32_t onex_on_compute(const char *name, const char *data, uint32_t data_len, onex_buf *out) {
	const char *want = "greet";
	for (uint32_t i = 0; name[i] || want[i]; i++) {
		if (name[i] != want[i]) return onex_error(out, ONEX_UNKNOWN_COMPUTATION, "unknown_computation", "no such computation");
	}
	uint32_t n = 0;
	char *who = onex_json_string(data, data_len, "name", &n);
	if (who == NULL || n == 0) return onex_error(out, ONEX_INVALID_INPUT, "invalid_input", "want {\"name\": a non-empty string}");
	onex_log(ONEX_INFO, "greeting someone");
	onex_buf g = {0, 0, 0};
	const char *hello = onex_config("salutation");
	onex_buf_puts(&g, hello != NULL ? hello : "Hello");
	onex_buf_puts(&g, ", ");
	onex_buf_append(&g, who, n);
	onex_buf_puts(&g, "!");
	onex_buf_puts(out, "{\"greeting\":");
	if (!onex_buf_json_string(out, g.ptr, g.len) || !onex_buf_puts(out, "}")) return onex_error(out, ONEX_TOO_LARGE, "too_large", "out of memory");
	return ONEX_OK;
}
