/* Which host config file applies: $VNUMA_HOST_CONF (tests, other installs), else the default. */
#include <stdlib.h>

#include "domain.h"

int vn_host_conf_load(struct vn_host_conf *out, struct vn_error *err)
{
    const char *env = getenv("VNUMA_HOST_CONF");
    return vn_host_conf_load_file(env && *env ? env : VN_HOST_CONF_DEFAULT_PATH, out, err);
}
