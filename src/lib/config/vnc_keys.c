/* The VNC keys of xl.cfg(5) (vnc, vnclisten, vncdisplay, vncpasswd) and vnuma's vnc_remote.
 *
 * They only mean something together, so the handler collects them and vn_build_vnc checks
 * them at the end.  VNC's own authentication is weak (an 8-character DES password at best),
 * so a guest's display is never reachable from the network unless the config says so twice:
 * a non-loopback vnclisten and vnc_remote = 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

/* QEMU's VNC port is 5900 + display. */
#define VNC_MAX_DISPLAY  (65535 - 5900)
#define VNC_MAX_PASSWORD 8 /* the VNC protocol's DES key */

void vn_build_vnc_key(struct vn_build *b, const struct vn_setting *s)
{
    if (strcmp(s->key, "vnc") == 0)
        b->vnc = s;
    else if (strcmp(s->key, "vnclisten") == 0)
        b->vnclisten = s;
    else if (strcmp(s->key, "vncdisplay") == 0)
        b->vncdisplay = s;
    else if (strcmp(s->key, "vncpasswd") == 0)
        b->vncpasswd = s;
    else
        b->vnc_remote = s;
}

/* A 0 or 1 key into *out; -1 with an error. */
static int flag(struct vn_build *b, const struct vn_setting *s, bool *out)
{
    uint64_t v;
    if (vn_build_number(b, s->key, s->value, UINT64_MAX, &v) < 0)
        return -1;
    if (v > 1) {
        vn_build_error(b, s->value->loc, s->key, "'%s' must be 0 or 1.", s->value->text);
        return -1;
    }
    *out = v == 1;
    return 0;
}

/* Parses a dotted-quad IPv4 address (four decimal numbers 0..255); sets *loopback for
 * 127.0.0.0/8.  -1 when text is anything else. */
static int parse_ipv4(const char *text, bool *loopback)
{
    const char *p = text;
    int first = -1;
    for (int i = 0; i < 4; i++) {
        int n = 0, digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 4) {
            n = n * 10 + (*p++ - '0');
            digits++;
        }
        if (digits == 0 || digits > 3 || n > 255 || (i < 3 && *p++ != '.'))
            return -1;
        if (i == 0)
            first = n;
    }
    if (*p)
        return -1;
    *loopback = first == 127;
    return 0;
}

/* vnclisten "ADDRESS[:DISPLAYNUM]" into v->listen, *display (-1 when not given). */
static int parse_listen(struct vn_build *b, const struct vn_setting *s, struct vn_vnc *v,
                        int *display, bool *loopback)
{
    const char *text = vn_build_atom(b, s);
    if (!text)
        return -1;
    char addr[64];
    const char *colon = strchr(text, ':');
    size_t alen = colon ? (size_t)(colon - text) : strlen(text);
    *display = -1;
    if (alen < sizeof addr) {
        memcpy(addr, text, alen);
        addr[alen] = '\0';
    }
    if (alen >= sizeof addr || parse_ipv4(addr, loopback) < 0) {
        vn_build_error(b, s->value->loc, s->key,
                       "'%.64s' is not ADDRESS[:DISPLAYNUM] with an IPv4 address (for example "
                       "'127.0.0.1:1').",
                       text);
        return -1;
    }
    if (colon) {
        uint64_t d;
        if (vn_parse_u64(colon + 1, VNC_MAX_DISPLAY, &d) < 0) {
            vn_build_error(b, s->value->loc, s->key,
                           "the display '%.16s' is not a number from 0 to %d (port 5900 + "
                           "display).",
                           colon + 1, VNC_MAX_DISPLAY);
            return -1;
        }
        *display = (int)d;
    }
    v->listen = vn_strdup_checked(addr);
    return 0;
}

static int parse_password(struct vn_build *b, const struct vn_setting *s, struct vn_vnc *v)
{
    const char *text = vn_build_atom(b, s);
    if (!text)
        return -1;
    size_t n = strlen(text);
    if (n == 0)
        return 0; /* xl: an empty password is none */
    if (n > VNC_MAX_PASSWORD) {
        vn_build_error(b, s->value->loc, s->key,
                       "a VNC password has at most %d characters (the VNC protocol's key); "
                       "this one has %zu.",
                       VNC_MAX_PASSWORD, n);
        return -1;
    }
    for (const char *c = text; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            vn_build_error(b, s->value->loc, s->key,
                           "the VNC password contains a control character.");
            return -1;
        }
    }
    v->password = vn_strdup_checked(text);
    v->has_password = true;
    return 0;
}

void vn_build_vnc(struct vn_build *b)
{
    struct vn_vnc *v = &b->spec->vnc;
    bool on = false;
    if (b->vnc && flag(b, b->vnc, &on) < 0)
        return;
    const struct vn_setting *others[] = {b->vnclisten, b->vncdisplay, b->vncpasswd, b->vnc_remote};
    if (!on) {
        for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
            if (others[i])
                vn_build_warning(b, others[i]->loc, others[i]->key,
                                 "'%s' is ignored: the guest has no VNC display unless 'vnc = "
                                 "1'.",
                                 others[i]->key);
        return;
    }
    v->enabled = true;
    v->loc = b->vnc->loc;
    if (b->vnc_remote && flag(b, b->vnc_remote, &v->remote) < 0)
        return;
    int display = -1, listen_display = -1;
    bool loopback = true;
    if (b->vncdisplay) {
        uint64_t d;
        if (vn_build_number(b, "vncdisplay", b->vncdisplay->value, VNC_MAX_DISPLAY, &d) < 0)
            return;
        display = (int)d;
    }
    if (b->vnclisten && parse_listen(b, b->vnclisten, v, &listen_display, &loopback) < 0)
        return;
    if (display >= 0 && listen_display >= 0 && display != listen_display) {
        vn_build_error(b, b->vncdisplay->loc, "vncdisplay",
                       "'vncdisplay' is %d but 'vnclisten' (line %d) gives display %d.", display,
                       b->vnclisten->loc.line, listen_display);
        return;
    }
    if (display < 0)
        display = listen_display;
    if (display >= 0 && !v->listen)
        v->listen = vn_strdup_checked("127.0.0.1");
    v->display = display < 0 ? 0 : display;
    if (!loopback && !v->remote) {
        vn_build_error(b, b->vnclisten->value->loc, "vnclisten",
                       "'%s' is not a loopback address, so anyone on the network could reach "
                       "the guest's display; set 'vnc_remote = 1' to allow it.",
                       v->listen);
        return;
    }
    if (v->remote && loopback)
        vn_build_warning(b, b->vnc_remote->loc, "vnc_remote",
                         "'vnc_remote' has no effect without a non-loopback 'vnclisten'.");
    if (b->vncpasswd && parse_password(b, b->vncpasswd, v) < 0)
        return;
    if (!loopback && !v->has_password)
        vn_build_warning(b, b->vnclisten->loc, "vnclisten",
                         "VNC on %s:%d has no 'vncpasswd': whoever reaches the port controls "
                         "the guest's console.",
                         v->listen, 5900 + v->display);
}
