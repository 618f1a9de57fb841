/* Shared by mmds.c (data store) and mmds_cfg.c (PUT /mmds/config). */
#ifndef EMBER_MMDS_INTERNAL_H
#define EMBER_MMDS_INTERNAL_H

/* mmds-config creates the data store, as Firecracker's set_mmds_config. */
void mmds_store_create(void);
/* Forget the configuration (mmds_reset). */
void mmds_cfg_reset(void);

#endif
