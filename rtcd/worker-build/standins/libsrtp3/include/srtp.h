/*
 * Stand-in for libsrtp3's <srtp.h> (versatica's fork, which the mediasoup
 * worker is written against) on top of Debian's libsrtp2 2.5.
 *
 * libsrtp3 differs from libsrtp2 where the worker touches it:
 *   - srtp_policy_t is an opaque handle built with srtp_policy_create() and
 *     srtp_policy_set_*() / srtp_policy_add_key(); in libsrtp2 it is a
 *     struct filled in by the caller.
 *   - srtp_protect()/srtp_unprotect() (and the RTCP variants) take separate
 *     input and output buffers with size_t lengths (plus an MKI index when
 *     protecting); libsrtp2 works in place with an int length.
 *   - srtp_stream_remove() is libsrtp2's srtp_remove_stream().
 *   - two extra error codes.
 * This header renames libsrtp2's policy struct while including it, then
 * declares the libsrtp3 names as inline adapters.
 */
#ifndef MMRTCD_SRTP3_STANDIN_H
#define MMRTCD_SRTP3_STANDIN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define srtp_policy_t mmrtcd_srtp2_policy_t
#include <srtp2/srtp.h>
#undef srtp_policy_t

typedef mmrtcd_srtp2_policy_t* srtp_policy_t;

#define srtp_err_status_buffer_small ((srtp_err_status_t)28)
#define srtp_err_status_cryptex_err ((srtp_err_status_t)29)

static inline srtp_err_status_t mmrtcd_srtp3_policy_create(srtp_policy_t* policy)
{
	*policy = (srtp_policy_t)calloc(1, sizeof(mmrtcd_srtp2_policy_t));
	return *policy ? srtp_err_status_ok : srtp_err_status_alloc_fail;
}

static inline void mmrtcd_srtp3_policy_destroy(srtp_policy_t policy)
{
	if (!policy)
		return;
	free(policy->key);
	free(policy);
}

static inline srtp_err_status_t mmrtcd_srtp3_policy_set_ssrc(srtp_policy_t policy, srtp_ssrc_t ssrc)
{
	policy->ssrc = ssrc;
	return srtp_err_status_ok;
}

static inline srtp_err_status_t mmrtcd_srtp3_policy_set_profile(srtp_policy_t policy, srtp_profile_t profile)
{
	srtp_err_status_t err = srtp_crypto_policy_set_from_profile_for_rtp(&policy->rtp, profile);
	if (err != srtp_err_status_ok)
		return err;
	return srtp_crypto_policy_set_from_profile_for_rtcp(&policy->rtcp, profile);
}

/* libsrtp2 wants the master key and salt back to back in one buffer. */
static inline srtp_err_status_t mmrtcd_srtp3_policy_add_key(
  srtp_policy_t policy,
  const uint8_t* key,
  size_t keyLen,
  const uint8_t* salt,
  size_t saltLen,
  const uint8_t* mki,
  size_t mkiLen)
{
	(void)mki;
	if (mkiLen != 0 || policy->key)
		return srtp_err_status_bad_param;
	unsigned char* buf = (unsigned char*)malloc(keyLen + saltLen);
	if (!buf)
		return srtp_err_status_alloc_fail;
	memcpy(buf, key, keyLen);
	memcpy(buf + keyLen, salt, saltLen);
	policy->key = buf;
	return srtp_err_status_ok;
}

static inline srtp_err_status_t mmrtcd_srtp3_policy_set_allow_repeat_tx(srtp_policy_t policy, bool allow)
{
	policy->allow_repeat_tx = allow ? 1 : 0;
	return srtp_err_status_ok;
}

static inline srtp_err_status_t mmrtcd_srtp3_policy_set_window_size(srtp_policy_t policy, size_t size)
{
	policy->window_size = (unsigned long)size;
	return srtp_err_status_ok;
}

static inline srtp_err_status_t mmrtcd_srtp3_create(srtp_t* session, srtp_policy_t policy)
{
	return srtp_create(session, policy);
}

static inline srtp_err_status_t mmrtcd_srtp3_copy_then(
  srtp_err_status_t (*fn)(srtp_t, void*, int*),
  srtp_t ctx,
  const uint8_t* in,
  size_t inLen,
  uint8_t* out,
  size_t* outLen,
  size_t trailer)
{
	if (inLen + trailer > *outLen || inLen > 0x7fffffff)
		return srtp_err_status_buffer_small;
	if (out != in)
		memmove(out, in, inLen);
	int len               = (int)inLen;
	srtp_err_status_t err = fn(ctx, out, &len);
	if (err == srtp_err_status_ok)
		*outLen = (size_t)len;
	return err;
}

static inline srtp_err_status_t mmrtcd_srtp3_protect(
  srtp_t ctx, const uint8_t* rtp, size_t rtpLen, uint8_t* srtp, size_t* srtpLen, size_t mkiIndex)
{
	(void)mkiIndex;
	return mmrtcd_srtp3_copy_then(srtp_protect, ctx, rtp, rtpLen, srtp, srtpLen, SRTP_MAX_TRAILER_LEN);
}

static inline srtp_err_status_t mmrtcd_srtp3_protect_rtcp(
  srtp_t ctx, const uint8_t* rtcp, size_t rtcpLen, uint8_t* srtcp, size_t* srtcpLen, size_t mkiIndex)
{
	(void)mkiIndex;
	return mmrtcd_srtp3_copy_then(srtp_protect_rtcp, ctx, rtcp, rtcpLen, srtcp, srtcpLen, SRTP_MAX_TRAILER_LEN);
}

static inline srtp_err_status_t mmrtcd_srtp3_unprotect(
  srtp_t ctx, const uint8_t* srtp, size_t srtpLen, uint8_t* rtp, size_t* rtpLen)
{
	size_t room = *rtpLen;
	if (room < srtpLen)
		room = srtpLen;
	*rtpLen = room;
	return mmrtcd_srtp3_copy_then(srtp_unprotect, ctx, srtp, srtpLen, rtp, rtpLen, 0);
}

static inline srtp_err_status_t mmrtcd_srtp3_unprotect_rtcp(
  srtp_t ctx, const uint8_t* srtcp, size_t srtcpLen, uint8_t* rtcp, size_t* rtcpLen)
{
	size_t room = *rtcpLen;
	if (room < srtcpLen)
		room = srtcpLen;
	*rtcpLen = room;
	return mmrtcd_srtp3_copy_then(srtp_unprotect_rtcp, ctx, srtcp, srtcpLen, rtcp, rtcpLen, 0);
}

static inline srtp_err_status_t mmrtcd_srtp3_stream_remove(srtp_t session, uint32_t ssrc)
{
	return srtp_remove_stream(session, ssrc);
}

#define srtp_policy_create mmrtcd_srtp3_policy_create
#define srtp_policy_destroy mmrtcd_srtp3_policy_destroy
#define srtp_policy_set_ssrc mmrtcd_srtp3_policy_set_ssrc
#define srtp_policy_set_profile mmrtcd_srtp3_policy_set_profile
#define srtp_policy_add_key mmrtcd_srtp3_policy_add_key
#define srtp_policy_set_allow_repeat_tx mmrtcd_srtp3_policy_set_allow_repeat_tx
#define srtp_policy_set_window_size mmrtcd_srtp3_policy_set_window_size
#define srtp_create mmrtcd_srtp3_create
#define srtp_protect mmrtcd_srtp3_protect
#define srtp_protect_rtcp mmrtcd_srtp3_protect_rtcp
#define srtp_unprotect mmrtcd_srtp3_unprotect
#define srtp_unprotect_rtcp mmrtcd_srtp3_unprotect_rtcp
#define srtp_stream_remove mmrtcd_srtp3_stream_remove

#endif
