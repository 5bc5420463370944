/*
 * bcryptprimitives.c: a stand-in bcryptprimitives.dll for Wine 8.0, which
 * lacks it. Go >= 1.22's runtime loads bcryptprimitives.dll at start and
 * calls ProcessPrng for every random byte; without it a Go Windows binary
 * dies before main. ProcessPrng here asks bcrypt.dll (which Wine has) for
 * the system's preferred RNG, as the real one does.
 *
 * Test-only: packaging/scripts/winetest.sh builds it with Debian's
 * mingw-w64 into a cache outside the clone and copies it into the test
 * WINEPREFIX. It is never shipped and never committed as a binary.
 */
#include <windows.h>
#include <bcrypt.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	/* BCryptGenRandom takes a ULONG count: feed large requests in pieces. */
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, data, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
	(void)inst;
	(void)reason;
	(void)reserved;
	return TRUE;
}
