/* ember-switch: flags and config (switch_cfg*.c), then the worker loop
 * (switch_loop.c) until SIGTERM or SIGINT. See --help. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/log.h"
#include "ember/switch.h"
#include "switch_internal.h"

int main(int argc, char **argv)
{
	static struct sw_cfg cfg;
	static struct sw sw;
	enum log_level lvl;
	int rc = sw_cfg_args(&cfg, argc, argv);

	if (rc >= 0)
		return rc;
	log_set_id("ember-switch");
	log_set_thread_name("switch");
	if (cfg.level[0] && log_parse_level(cfg.level, &lvl) == 0)
		log_set_level(lvl);
	rc = sw_init(&sw, &cfg);
	if (rc == 0) {
		log_info("switch: listening on %s", cfg.socket);
		rc = sw_run(&sw);
	} else {
		log_err("switch: start failed: %s", strerror(-rc));
	}
	sw_fini(&sw);
	return rc ? 1 : 0;
}
