/*
 * Test scaffolding for running azcm.exe under Wine 8, never shipped: Rust's std imports
 * bcryptprimitives.dll!ProcessPrng, which Wine 8 lacks. This DLL provides it over
 * advapi32's RtlGenRandom (SystemFunction036), the CSPRNG Windows itself builds it on.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x7fffffff ? 0x7fffffff : (ULONG)length;
        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
