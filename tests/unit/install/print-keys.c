/* Prints every config key vnuma handles, one a line, from the key table itself, so that the
 * install test can ask vnuma.cfg(5) for an entry of each. */
#include <stdio.h>

#include "config/config_int.h"

int main(void)
{
    for (size_t i = 0; vn_known_key_name(i); i++)
        puts(vn_known_key_name(i));
    return 0;
}
