/* test_google.c: Google token verification without the network: JWKS parsing, RS256 with a
 * fixed key, every claim check, at_hash, and the key cache's rules when Google cannot be
 * reached (URLs left empty, so every fetch fails at once).
 *
 * The vectors were made once: two RSA keys (and a 1024-bit one) by `openssl genpkey`, the
 * tokens by /usr/bin/python3 with python3-jwt (RS256) and hmac (the HS256-with-public-key
 * attack); the private keys were thrown away. Times: iat 1700000000, exp 1700003600. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>

#include "config/config.h"
#include "google/google_internal.h"
#include "codec/json.h"
#include "token/jwt.h"

#define CLIENT "unit-client.apps.googleusercontent.com"
#define OTHER_CLIENT "unit-other.apps.googleusercontent.com"
#define NOW 1700000100
#define AT_HASH_LIT "ZSNWZ2_1Wp1HgrX4gRshpQ"

static const char JWKS[] =
    "{\"keys\":[{\"kty\":\"RSA\",\"alg\":\"RS256\",\"use\":\"sig\",\"kid\":\"unit-kid-1\",\"n\":\"rKf7Eh-r"
    "5sq30Sj1TgGcfqKUMCYHlnkMts_7iCVZJ3oGdrcjsgXS2YwMnkzDOl7sl2uzZdnk681-1k3pjJDV8IXF"
    "wSlwrp5DlSeQD3TuZujAQnu2-Gsv7XVqhZukpEIlwIw7FaNDmfn66583F3TqGbxB-m4s-I5Ut8j2sZjb"
    "KAiXkRzTP3dFkMlP3UhuMn0g71ahezMY6wApzV8pvRz7LBZZHkgPnWJ_Lqz4U8X0mR1FoLbQ_nmkQzqD"
    "JLXl6JaXKT-cvMGhVUIqVR1tgs8kpQB9M8d1LjNMu8vd2hgqN_WGV73oeaz6b-ACIQ0lWM4y9-caFmxx"
    "ydZrK1q2x2Wh6w\",\"e\":\"AQAB\"},{\"kty\":\"RSA\",\"alg\":\"RS256\",\"use\":\"sig\",\"kid\":\"unit-k"
    "id-2\",\"n\":\"zdgU204WrVNp_JS7hNFUCGNIf7euKC8Alfy04r-RmxI70QzZFzsIhj0EDV0AERVZYpkDA"
    "EgY3sxlRqTA_eU99I4e413fKl-uoNzHWpauXMo_ECmvRUTlXVNxigs8fJJZvAUu7WPjifWxsBJsTV1j2"
    "cA4wY8OFv94RfK2gWCcgsoY707RXbvcoGN5qwcREyVGk7x82no3k-OwvM1ZSRI5jqsz3AF8pNHx0YmWw"
    "Bml-d82-k6PASd_kxzOYloIK_ZPXDo6ubm0SuAvP0RlpMJimc6lxOLOWo3Ld2syuNPPJQwrPgHqQOeFw"
    "Tsg3k7vpn9RcKVV7wdQtLOGbIClQ6wAmw\",\"e\":\"AQAB\"},{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\""
    "unit-ec\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\",\"y\":\"x_FEzRu9m36HLN_t"
    "ue659LNpXW6pOyStikYjKIWI5a0\",\"use\":\"sig\",\"alg\":\"ES256\"}]}";
static const char JWKS_WEAK[] =
    "{\"keys\":[{\"kty\":\"RSA\",\"alg\":\"RS256\",\"use\":\"sig\",\"kid\":\"unit-weak\",\"n\":\"4Vfq8GNpO"
    "XbTAwKV4NYrjOdYUFPsFXDk1lKMIX6fYUtK8VyRz7wd6W9EM8pFmSFUFJxIidfv4bzFb_EMwDhnj3dlk"
    "HVyZE-O-eHDaM-IG8UHCrYfCrEuSjlmXjKmDX26X2OHBDPJ2apRsu4pLgdvCuwywbJBD4HrIFSlLSmks"
    "y0\",\"e\":\"AQAB\"}]}";
static const char JWKS_DUP_KID[] =
    "{\"keys\":[{\"kty\":\"RSA\",\"alg\":\"RS256\",\"use\":\"sig\",\"kid\":\"unit-kid-1\",\"n\":\"rKf7Eh-r"
    "5sq30Sj1TgGcfqKUMCYHlnkMts_7iCVZJ3oGdrcjsgXS2YwMnkzDOl7sl2uzZdnk681-1k3pjJDV8IXF"
    "wSlwrp5DlSeQD3TuZujAQnu2-Gsv7XVqhZukpEIlwIw7FaNDmfn66583F3TqGbxB-m4s-I5Ut8j2sZjb"
    "KAiXkRzTP3dFkMlP3UhuMn0g71ahezMY6wApzV8pvRz7LBZZHkgPnWJ_Lqz4U8X0mR1FoLbQ_nmkQzqD"
    "JLXl6JaXKT-cvMGhVUIqVR1tgs8kpQB9M8d1LjNMu8vd2hgqN_WGV73oeaz6b-ACIQ0lWM4y9-caFmxx"
    "ydZrK1q2x2Wh6w\",\"e\":\"AQAB\"},{\"kty\":\"RSA\",\"alg\":\"RS256\",\"use\":\"sig\",\"kid\":\"unit-k"
    "id-1\",\"n\":\"zdgU204WrVNp_JS7hNFUCGNIf7euKC8Alfy04r-RmxI70QzZFzsIhj0EDV0AERVZYpkDA"
    "EgY3sxlRqTA_eU99I4e413fKl-uoNzHWpauXMo_ECmvRUTlXVNxigs8fJJZvAUu7WPjifWxsBJsTV1j2"
    "cA4wY8OFv94RfK2gWCcgsoY707RXbvcoGN5qwcREyVGk7x82no3k-OwvM1ZSRI5jqsz3AF8pNHx0YmWw"
    "Bml-d82-k6PASd_kxzOYloIK_ZPXDo6ubm0SuAvP0RlpMJimc6lxOLOWo3Ld2syuNPPJQwrPgHqQOeFw"
    "Tsg3k7vpn9RcKVV7wdQtLOGbIClQ6wAmw\",\"e\":\"AQAB\"}]}";
static const char T_GOOD[] =
    "eyJhbGciOiJSUzI1NiIsImtpZCI6InVuaXQta2lkLTEiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJodHRwc"
    "zovL2FjY291bnRzLmdvb2dsZS5jb20iLCJhenAiOiJ1bml0LWNsaWVudC5hcHBzLmdvb2dsZXVzZXJjb"
    "250ZW50LmNvbSIsImF1ZCI6InVuaXQtY2xpZW50LmFwcHMuZ29vZ2xldXNlcmNvbnRlbnQuY29tIiwic"
    "3ViIjoiMTEwMTY5NDg0NDc0Mzg2Mjc2MzM0IiwiZW1haWwiOiJqb3NlLnJhbWlyZXpAZXhhbXBsZS5jb"
    "20iLCJlbWFpbF92ZXJpZmllZCI6dHJ1ZSwiYXRfaGFzaCI6IlpTTldaMl8xV3AxSGdyWDRnUnNocFEiL"
    "CJuYW1lIjoiSm9zXHUwMGU5IFJhbVx1MDBlZHJleiIsInBpY3R1cmUiOiJodHRwczovL2xoMy5nb29nb"
    "GV1c2VyY29udGVudC5jb20vYS91bml0IiwiZ2l2ZW5fbmFtZSI6Ikpvc1x1MDBlOSIsImZhbWlseV9uY"
    "W1lIjoiUmFtXHUwMGVkcmV6IiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDM2MDB9.FiICsIQD"
    "kJFpYdDKwa92vJ7FSRybzs0-tsAyxAGaitjTzbsrXItYEu7Y7xOKDUgpFLZ8xFFTgF44U6s8PO1QmLk1"
    "uQxuZeYOrzKrF-UiXLxZZ0GoJv_MCC6BpJQeitAnaI1eFH7_ehQkY1hwp2HrBtyywJ2S9FfjWUDmnK3H"
    "I4uwhfE58elYETGSDAuB5o7eZJuvbymmCt7uUeKFXaJytsMcfLiJOD7m02TdALv3Hczs6ssoJpjxbtnu"
    "nOGQCfGyjDBWWyB5QxoNNB-Mx4sImtaNTxhUh7vMuXX6PwgwgeU-dCNaLByJpPYoBSm5zNVjH1bsR3jZ"
    "gIDadCUdpqi3_Q";
static const char T_OTHER_KEY[] =
    "eyJhbGciOiJSUzI1NiIsImtpZCI6InVuaXQta2lkLTEiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJodHRwc"
    "zovL2FjY291bnRzLmdvb2dsZS5jb20iLCJhenAiOiJ1bml0LWNsaWVudC5hcHBzLmdvb2dsZXVzZXJjb"
    "250ZW50LmNvbSIsImF1ZCI6InVuaXQtY2xpZW50LmFwcHMuZ29vZ2xldXNlcmNvbnRlbnQuY29tIiwic"
    "3ViIjoiMTEwMTY5NDg0NDc0Mzg2Mjc2MzM0IiwiZW1haWwiOiJqb3NlLnJhbWlyZXpAZXhhbXBsZS5jb"
    "20iLCJlbWFpbF92ZXJpZmllZCI6dHJ1ZSwiYXRfaGFzaCI6IlpTTldaMl8xV3AxSGdyWDRnUnNocFEiL"
    "CJuYW1lIjoiSm9zXHUwMGU5IFJhbVx1MDBlZHJleiIsInBpY3R1cmUiOiJodHRwczovL2xoMy5nb29nb"
    "GV1c2VyY29udGVudC5jb20vYS91bml0IiwiZ2l2ZW5fbmFtZSI6Ikpvc1x1MDBlOSIsImZhbWlseV9uY"
    "W1lIjoiUmFtXHUwMGVkcmV6IiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDM2MDB9.qxv6Yy0k"
    "R9c5cZZ0LDQ1xiHet2F81gcrt-1tjN41OuqDRuhQmeow9vfVg4df6wHTPIHQrL_v2JwEP62H9SoB8dj0"
    "uETUMeTOYkZiNihCvMtsT-7PF3ZmKPAB5rkxTvkZYAGARm1AZcZ0bVDooLSi_rIeyFrPwqbYaZD4k2QS"
    "b-i9BCvzLG4zX0-8XrgkqJfmwMmo9U3xIIvlAE-gBFuFzB-_ysNWaiv9unT0ZQXBNXLi0futBJIGnDDp"
    "dsFh5-cRGyvSlvVo1SA0q5nm31XJpkQrMzxO4Y0ooRNUpSa7ht2oFmP12xlR560uY5vV2uZlkkrIFGr5"
    "m4e0bVjILCaudQ";
static const char T_KEY2[] =
    "eyJhbGciOiJSUzI1NiIsImtpZCI6InVuaXQta2lkLTIiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJodHRwc"
    "zovL2FjY291bnRzLmdvb2dsZS5jb20iLCJhenAiOiJ1bml0LWNsaWVudC5hcHBzLmdvb2dsZXVzZXJjb"
    "250ZW50LmNvbSIsImF1ZCI6InVuaXQtY2xpZW50LmFwcHMuZ29vZ2xldXNlcmNvbnRlbnQuY29tIiwic"
    "3ViIjoiMTEwMTY5NDg0NDc0Mzg2Mjc2MzM0IiwiZW1haWwiOiJqb3NlLnJhbWlyZXpAZXhhbXBsZS5jb"
    "20iLCJlbWFpbF92ZXJpZmllZCI6dHJ1ZSwiYXRfaGFzaCI6IlpTTldaMl8xV3AxSGdyWDRnUnNocFEiL"
    "CJuYW1lIjoiSm9zXHUwMGU5IFJhbVx1MDBlZHJleiIsInBpY3R1cmUiOiJodHRwczovL2xoMy5nb29nb"
    "GV1c2VyY29udGVudC5jb20vYS91bml0IiwiZ2l2ZW5fbmFtZSI6Ikpvc1x1MDBlOSIsImZhbWlseV9uY"
    "W1lIjoiUmFtXHUwMGVkcmV6IiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDM2MDB9.GMtUD14K"
    "bHylKSIj5CJoL19FdOot0sKzPqHSPzYatavpX-HelfCUJ0pEr22oqO4fViGIsnnKiWLjdrJdKnLszPWg"
    "4kVqzelfErbTZQe8ROYJIDAC88inpk2-zxi5_tPYZqjJdZceLE2yaegKiNplS-DxCMimsJFUnjim68EN"
    "6Je20Ufq2lkMxcIZNA7BqM9QI_UHIneNlL_6DzFIgjd1_i6va9ujfnGgQ3AcpCnhECwiz3n9XGroZctY"
    "XynUG9Z-pMntVHN6WUE5aGLg31ijEV8IWhuNPGPVk__KciSVEddXaNN14NKFW7Y2KJcNoMRTafyE9a6G"
    "C0ly07uE9Adxqw";
static const char T_UNKNOWN_KID[] =
    "eyJhbGciOiJSUzI1NiIsImtpZCI6InVuaXQta2lkLTQwNCIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHR"
    "wczovL2FjY291bnRzLmdvb2dsZS5jb20iLCJhenAiOiJ1bml0LWNsaWVudC5hcHBzLmdvb2dsZXVzZXJ"
    "jb250ZW50LmNvbSIsImF1ZCI6InVuaXQtY2xpZW50LmFwcHMuZ29vZ2xldXNlcmNvbnRlbnQuY29tIiw"
    "ic3ViIjoiMTEwMTY5NDg0NDc0Mzg2Mjc2MzM0IiwiZW1haWwiOiJqb3NlLnJhbWlyZXpAZXhhbXBsZS5"
    "jb20iLCJlbWFpbF92ZXJpZmllZCI6dHJ1ZSwiYXRfaGFzaCI6IlpTTldaMl8xV3AxSGdyWDRnUnNocFE"
    "iLCJuYW1lIjoiSm9zXHUwMGU5IFJhbVx1MDBlZHJleiIsInBpY3R1cmUiOiJodHRwczovL2xoMy5nb29"
    "nbGV1c2VyY29udGVudC5jb20vYS91bml0IiwiZ2l2ZW5fbmFtZSI6Ikpvc1x1MDBlOSIsImZhbWlseV9"
    "uYW1lIjoiUmFtXHUwMGVkcmV6IiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDM2MDB9.FQ2ziJ"
    "n2bKF26ts1zDvUlZ1w9KYMW3oI8HZxVej4YacJjbXHiG9WHlG4lrmVvaDROp4LkLf4L5IMhv-F0lPgL0"
    "dOqkC1V9pzHVGx8UbjFGtl7WG4HSNG4IEjOySwLpKO8ge9VTBpH8HdSjzX5v27bIwQtnICNCghCGeWu8"
    "TMsPYslew2HUbk3ulkMM4i_ii9NAhW7RlFNjhCWEJMVypW6wZzIH4_gtAiVueX7guv5obbfef3F2zzAw"
    "_gNiVZFS3cS_trGQsMRDzv2Y0BYZcBoJs-DDIR8KHSr6mdy9KSHhe4JG2wGuwc9cIezo_ETV-Pr0CtQd"
    "tz2gB583ueNlhwkw";
static const char T_NO_KID[] =
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL2FjY291bnRzLmdvb2dsZS5"
    "jb20iLCJhenAiOiJ1bml0LWNsaWVudC5hcHBzLmdvb2dsZXVzZXJjb250ZW50LmNvbSIsImF1ZCI6InV"
    "uaXQtY2xpZW50LmFwcHMuZ29vZ2xldXNlcmNvbnRlbnQuY29tIiwic3ViIjoiMTEwMTY5NDg0NDc0Mzg"
    "2Mjc2MzM0IiwiZW1haWwiOiJqb3NlLnJhbWlyZXpAZXhhbXBsZS5jb20iLCJlbWFpbF92ZXJpZmllZCI"
    "6dHJ1ZSwiYXRfaGFzaCI6IlpTTldaMl8xV3AxSGdyWDRnUnNocFEiLCJuYW1lIjoiSm9zXHUwMGU5IFJ"
    "hbVx1MDBlZHJleiIsInBpY3R1cmUiOiJodHRwczovL2xoMy5nb29nbGV1c2VyY29udGVudC5jb20vYS9"
    "1bml0IiwiZ2l2ZW5fbmFtZSI6Ikpvc1x1MDBlOSIsImZhbWlseV9uYW1lIjoiUmFtXHUwMGVkcmV6Iiw"
    "iaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDM2MDB9.V5gPE0W0gXbrZSIf794s0eLH5W8jfDskW0"
    "j8qIvqWMQq8VMpSZ-TqLMuwpG0VjS9T8RSmmQqzGxfts72WZ3Cs9GvvSZMdtr5eKHk13X9UEVeH_nF-J"
    "6X-hlnXdFcCvsVwDR59jhsJbHQqTC308ldCP45dGCZRIm1eypernATd1SPyn9IKF_0y6an7isejNqVwQ"
    "1CN6JKYenYJaYjKOLNbIUO7N-jjdHNs5HHHNdoJPNji02H6P6goDYrFwOxgGjDM4e8Lz7Pq0jb9Laz88"
    "AV95zVDFhmIVFShTc9EubLxBXOEF6RkkVn8nFiemLLKvpJYJcWW5UA8dclWGh-O7p7Nw";
static const char T_CRIT[] =
    "eyJhbGciOiJSUzI1NiIsImNyaXQiOlsiZXhwIl0sImtpZCI6InVuaXQta2lkLTEiLCJ0eXAiOiJKV1Qi"
    "fQ.eyJpc3MiOiJodHRwczovL2FjY291bnRzLmdvb2dsZS5jb20iLCJhenAiOiJ1bml0LWNsaWVudC5hc"
    "HBzLmdvb2dsZXVzZXJjb250ZW50LmNvbSIsImF1ZCI6InVuaXQtY2xpZW50LmFwcHMuZ29vZ2xldXNlc"
    "mNvbnRlbnQuY29tIiwic3ViIjoiMTEwMTY5NDg0NDc0Mzg2Mjc2MzM0IiwiZW1haWwiOiJqb3NlLnJhb"
    "WlyZXpAZXhhbXBsZS5jb20iLCJlbWFpbF92ZXJpZmllZCI6dHJ1ZSwiYXRfaGFzaCI6IlpTTldaMl8xV"
    "3AxSGdyWDRnUnNocFEiLCJuYW1lIjoiSm9zXHUwMGU5IFJhbVx1MDBlZHJleiIsInBpY3R1cmUiOiJod"
    "HRwczovL2xoMy5nb29nbGV1c2VyY29udGVudC5jb20vYS91bml0IiwiZ2l2ZW5fbmFtZSI6Ikpvc1x1M"
    "DBlOSIsImZhbWlseV9uYW1lIjoiUmFtXHUwMGVkcmV6IiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3M"
    "DAwMDM2MDB9.an-ByGQFbllXMZ0DgNrtQvBJfttplF-UemZR-A4aRdLxJdyvo8nwnFwr1MJMpEDHU4WN"
    "N3Vzk0MO1__00Zb9SqCEwqOoG-az0JwMtiHmefMZ-yTe1rOxJDEaKd2W5vd6sF3ZtKjHOPX7jqof_FD1"
    "eNFwNBtjj7od-PGtGwocE0OhM8FNBr_-H7FJEmITr7eg6_TRSi2kXy5wr71SjmXJKkjuYOHx32paqXNB"
    "O8Nd9qJdgvGO9pDwvSfR7-1k_NgxnTbRRXaTNWcCoEZibEoQbY0GO8gEK9EILo6UJdS9re7REfjzJDuC"
    "beEg1MLFO3_C1LcBNjtxqBCGrSDm3im0dw";
static const char T_NONE[] =
    "eyJhbGciOiJub25lIiwia2lkIjoidW5pdC1raWQtMSIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczo"
    "vL2FjY291bnRzLmdvb2dsZS5jb20iLCJhenAiOiJ1bml0LWNsaWVudC5hcHBzLmdvb2dsZXVzZXJjb25"
    "0ZW50LmNvbSIsImF1ZCI6InVuaXQtY2xpZW50LmFwcHMuZ29vZ2xldXNlcmNvbnRlbnQuY29tIiwic3V"
    "iIjoiMTEwMTY5NDg0NDc0Mzg2Mjc2MzM0IiwiZW1haWwiOiJqb3NlLnJhbWlyZXpAZXhhbXBsZS5jb20"
    "iLCJlbWFpbF92ZXJpZmllZCI6dHJ1ZSwiYXRfaGFzaCI6IlpTTldaMl8xV3AxSGdyWDRnUnNocFEiLCJ"
    "uYW1lIjoiSm9zXHUwMGU5IFJhbVx1MDBlZHJleiIsInBpY3R1cmUiOiJodHRwczovL2xoMy5nb29nbGV"
    "1c2VyY29udGVudC5jb20vYS91bml0IiwiZ2l2ZW5fbmFtZSI6Ikpvc1x1MDBlOSIsImZhbWlseV9uYW1"
    "lIjoiUmFtXHUwMGVkcmV6IiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDM2MDB9.";
static const char T_HS256_PUBKEY[] =
    "eyJhbGciOiJIUzI1NiIsImtpZCI6InVuaXQta2lkLTEiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJodHRwc"
    "zovL2FjY291bnRzLmdvb2dsZS5jb20iLCJhenAiOiJ1bml0LWNsaWVudC5hcHBzLmdvb2dsZXVzZXJjb"
    "250ZW50LmNvbSIsImF1ZCI6InVuaXQtY2xpZW50LmFwcHMuZ29vZ2xldXNlcmNvbnRlbnQuY29tIiwic"
    "3ViIjoiMTEwMTY5NDg0NDc0Mzg2Mjc2MzM0IiwiZW1haWwiOiJqb3NlLnJhbWlyZXpAZXhhbXBsZS5jb"
    "20iLCJlbWFpbF92ZXJpZmllZCI6dHJ1ZSwiYXRfaGFzaCI6IlpTTldaMl8xV3AxSGdyWDRnUnNocFEiL"
    "CJuYW1lIjoiSm9zXHUwMGU5IFJhbVx1MDBlZHJleiIsInBpY3R1cmUiOiJodHRwczovL2xoMy5nb29nb"
    "GV1c2VyY29udGVudC5jb20vYS91bml0IiwiZ2l2ZW5fbmFtZSI6Ikpvc1x1MDBlOSIsImZhbWlseV9uY"
    "W1lIjoiUmFtXHUwMGVkcmV6IiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDM2MDB9.0VSBfTc7"
    "_XniuWDTbNQuQETlgCcmGidsrHy6vsPvUs0";
static const char T_TAMPERED[] =
    "eyJhbGciOiJSUzI1NiIsImtpZCI6InVuaXQta2lkLTEiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJodHRwc"
    "zovL2FjY291bnRzLmdvb2dsZS5jb20iLCJhenAiOiJ1bml0LWNsaWVudC5hcHBzLmdvb2dsZXVzZXJjb"
    "250ZW50LmNvbSIsImF1ZCI6InVuaXQtY2xpZW50LmFwcHMuZ29vZ2xldXNlcmNvbnRlbnQuY29tIiwic"
    "3ViIjoiOTk5IiwiZW1haWwiOiJqb3NlLnJhbWlyZXpAZXhhbXBsZS5jb20iLCJlbWFpbF92ZXJpZmllZ"
    "CI6dHJ1ZSwiYXRfaGFzaCI6IlpTTldaMl8xV3AxSGdyWDRnUnNocFEiLCJuYW1lIjoiSm9zXHUwMGU5I"
    "FJhbVx1MDBlZHJleiIsInBpY3R1cmUiOiJodHRwczovL2xoMy5nb29nbGV1c2VyY29udGVudC5jb20vY"
    "S91bml0IiwiZ2l2ZW5fbmFtZSI6Ikpvc1x1MDBlOSIsImZhbWlseV9uYW1lIjoiUmFtXHUwMGVkcmV6I"
    "iwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDM2MDB9.FiICsIQDkJFpYdDKwa92vJ7FSRybzs0-"
    "tsAyxAGaitjTzbsrXItYEu7Y7xOKDUgpFLZ8xFFTgF44U6s8PO1QmLk1uQxuZeYOrzKrF-UiXLxZZ0Go"
    "Jv_MCC6BpJQeitAnaI1eFH7_ehQkY1hwp2HrBtyywJ2S9FfjWUDmnK3HI4uwhfE58elYETGSDAuB5o7e"
    "ZJuvbymmCt7uUeKFXaJytsMcfLiJOD7m02TdALv3Hczs6ssoJpjxbtnunOGQCfGyjDBWWyB5QxoNNB-M"
    "x4sImtaNTxhUh7vMuXX6PwgwgeU-dCNaLByJpPYoBSm5zNVjH1bsR3jZgIDadCUdpqi3_Q";
static const char T_AUD_ARRAY[] =
    "eyJhbGciOiJSUzI1NiIsImtpZCI6InVuaXQta2lkLTEiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJodHRwc"
    "zovL2FjY291bnRzLmdvb2dsZS5jb20iLCJhenAiOiJ1bml0LWNsaWVudC5hcHBzLmdvb2dsZXVzZXJjb"
    "250ZW50LmNvbSIsImF1ZCI6WyJ1bml0LWNsaWVudC5hcHBzLmdvb2dsZXVzZXJjb250ZW50LmNvbSIsI"
    "nVuaXQtb3RoZXIuYXBwcy5nb29nbGV1c2VyY29udGVudC5jb20iXSwic3ViIjoiMTEwMTY5NDg0NDc0M"
    "zg2Mjc2MzM0IiwiZW1haWwiOiJqb3NlLnJhbWlyZXpAZXhhbXBsZS5jb20iLCJlbWFpbF92ZXJpZmllZ"
    "CI6dHJ1ZSwiYXRfaGFzaCI6IlpTTldaMl8xV3AxSGdyWDRnUnNocFEiLCJuYW1lIjoiSm9zXHUwMGU5I"
    "FJhbVx1MDBlZHJleiIsInBpY3R1cmUiOiJodHRwczovL2xoMy5nb29nbGV1c2VyY29udGVudC5jb20vY"
    "S91bml0IiwiZ2l2ZW5fbmFtZSI6Ikpvc1x1MDBlOSIsImZhbWlseV9uYW1lIjoiUmFtXHUwMGVkcmV6I"
    "iwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDM2MDB9.VcofPDLs1ldmqdk7Y7HfVTH5u08TiuPs"
    "oUD6AyBAnj1OYRxto1UD0hqTK0KF6rEDxuCJ9l76gUk3KCsTtMV-YLk3-kPnIZ92eZHfeVjr89UIcoB8"
    "F8Xqqx5hStwDMbirtas1A7QxK-kSFMVBSOc0jgBsN1Zrh3D4Ooi7LEF1DiP1tCGq0dhp3U7gutGFxvvP"
    "GYS7hpYzIwUxLo3T0y2W7CeJia_gqdhQGuD3eS9xqAIoTBobV9LuZuoB-YZJxFwS6BLVSPwo5asPJuBx"
    "XjfCIPhq9z5EKGpqVZ_GqK-cccXO9THZwi-V9QhaOETZlg9s34bw3lxEoj0H53SiBWTQRw";
static const char T_WRONG_AUD[] =
    "eyJhbGciOiJSUzI1NiIsImtpZCI6InVuaXQta2lkLTEiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJodHRwc"
    "zovL2FjY291bnRzLmdvb2dsZS5jb20iLCJhenAiOiJ1bml0LWNsaWVudC5hcHBzLmdvb2dsZXVzZXJjb"
    "250ZW50LmNvbSIsImF1ZCI6ImV2aWwuYXBwcy5nb29nbGV1c2VyY29udGVudC5jb20iLCJzdWIiOiIxM"
    "TAxNjk0ODQ0NzQzODYyNzYzMzQiLCJlbWFpbCI6Impvc2UucmFtaXJlekBleGFtcGxlLmNvbSIsImVtY"
    "WlsX3ZlcmlmaWVkIjp0cnVlLCJhdF9oYXNoIjoiWlNOV1oyXzFXcDFIZ3JYNGdSc2hwUSIsIm5hbWUiO"
    "iJKb3NcdTAwZTkgUmFtXHUwMGVkcmV6IiwicGljdHVyZSI6Imh0dHBzOi8vbGgzLmdvb2dsZXVzZXJjb"
    "250ZW50LmNvbS9hL3VuaXQiLCJnaXZlbl9uYW1lIjoiSm9zXHUwMGU5IiwiZmFtaWx5X25hbWUiOiJSY"
    "W1cdTAwZWRyZXoiLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMzYwMH0.H3GITkJejmrOSmhOU"
    "s5Gkxa504d38K6ZZVDdchnihOfsIwDP5pJjH1zBhZvXJDToziDuCb9dE7riKAbWWntaCyfw1qiY6dABH"
    "Ve-cvPCHTrWi8-IL9T0JoIHTQrBm8edhJ4Pz1OsLwTg8E-9nUlQOt3TYP0pNo6-WiS3ErtZ4rQUPVz5x"
    "KW9mf-_I2n1klCamg2gBI0xE9jdjUagB-xG708y7hWnrWK1s-gSPNPFgGt2K05zT-ROVybNEZbNiqa9P"
    "0D0xcyKMfpPJh0c1jmg11YGo8_83P6fHjgHCRP_DpAXqnQwTizixJnTSRtFruOp9tmVsRyZh9ulBiVSI"
    "9FYLg";
static const char AT[] =
    "ya29.unit-access-token";
static const char AT_HASH[] =
    "ZSNWZ2_1Wp1HgrX4gRshpQ";

static sa_config cfg;

static int setup(void **state)
{
    static const char text[] =
        "google_client_ids = " CLIENT " " OTHER_CLIENT "\n"
        "google_issuers = https://accounts.google.com accounts.google.com\n";
    sa_error err = { 0 };
    sa_config_defaults(&cfg);
    assert_int_equal(sa_config_parse(&cfg, text, strlen(text), "test", &err), SA_OK);
    /* No Google here: every fetch must fail at once, never reach the network. */
    cfg.google_jwks_url[0] = '\0';
    cfg.google_tokeninfo_url[0] = '\0';
    cfg.google_userinfo_url[0] = '\0';
    cfg.google_token_url[0] = '\0';
    /* Time rules are tested at their exact edges; test_leeway tests the windows. */
    cfg.google_leeway = 0;
    return 0;
}

static int teardown(void **state)
{
    sa_config_free(&cfg);
    return 0;
}

/* A verifier with JWKS installed, fresh from NOW-100 until expires_at. */
static sa_google *verifier(int64_t expires_at)
{
    sa_error err = { 0 };
    sa_google *g = sa_google_new(&cfg, NULL, &err);
    assert_non_null(g);
    assert_int_equal(sa_google_keys_install(g, JWKS, strlen(JWKS), NOW - 100, expires_at, &err),
                     SA_OK);
    return g;
}

static sa_google_result verify(sa_google *g, const char *token, const char *at, int64_t now,
                               const char **reason)
{
    sa_google_identity id;
    sa_error err = { 0 };
    sa_google_result r = sa_google_verify_id_token(g, token, at, now, &id, reason, &err);
    sa_google_identity_clear(&id);
    return r;
}

static void expect_rejected(sa_google *g, const char *token, const char *at, int64_t now,
                            const char *want)
{
    const char *reason = NULL;
    assert_int_equal(verify(g, token, at, now, &reason), SA_GOOGLE_REJECTED);
    assert_non_null(reason);
    assert_string_equal(reason, want);
}

/* ---- JWKS ---- */

static void test_jwks_parse(void **state)
{
    sa_google_keyset set = { 0 };
    sa_error err = { 0 };
    assert_int_equal(sa_google_jwks_parse(JWKS, strlen(JWKS), &set, &err), SA_OK);
    assert_int_equal(set.n, 2); /* the EC key is skipped */
    assert_non_null(sa_google_keyset_find(&set, "unit-kid-1"));
    assert_non_null(sa_google_keyset_find(&set, "unit-kid-2"));
    assert_null(sa_google_keyset_find(&set, "unit-ec"));
    assert_null(sa_google_keyset_find(&set, "unit-kid-3"));
    assert_int_equal(EVP_PKEY_get_bits(sa_google_keyset_find(&set, "unit-kid-1")), 2048);
    assert_string_equal(set.doc, JWKS);
    sa_google_keyset_clear(&set);
    assert_int_equal(set.n, 0);
}

static void test_jwks_parse_refusals(void **state)
{
    static const char *bad[] = {
        "", "[]", "{}", "{\"keys\":{}}", "{\"keys\":[]}", "{\"keys\":[1]}", "not json",
        "{\"keys\":[],\"keys\":[]}",                                  /* duplicate member */
        "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a\",\"e\":\"AQAB\"}]}", /* no n */
        "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a\",\"n\":\"AQAB=\",\"e\":\"AQAB\"}]}",
        "{\"keys\":[{\"kty\":\"RSA\",\"kid\":7,\"n\":\"AQAB\",\"e\":\"AQAB\"}]}",
        "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"only-ec\"}]}",          /* nothing usable */
        "{\"keys\":[{\"kty\":\"RSA\",\"alg\":\"RS512\",\"kid\":\"a\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}",
        JWKS_DUP_KID, JWKS_WEAK,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sa_google_keyset set = { 0 };
        sa_error err = { 0 };
        if (sa_google_jwks_parse(bad[i], strlen(bad[i]), &set, &err) != SA_ERR_INVALID)
            fail_msg("JWKS %zu accepted", i);
        assert_int_equal(set.n, 0);
    }

    /* More than SA_GOOGLE_MAX_KEYS keys. */
    char many[4096];
    size_t pos = 0;
    const char *head = "{\"keys\":[", *item = "{\"kty\":\"EC\"},", *tail = "]}";
    memcpy(many + pos, head, strlen(head));
    pos += strlen(head);
    for (int i = 0; i <= SA_GOOGLE_MAX_KEYS; i++) {
        memcpy(many + pos, item, strlen(item));
        pos += strlen(item);
    }
    pos--; /* the last comma */
    memcpy(many + pos, tail, strlen(tail) + 1);
    sa_google_keyset set = { 0 };
    assert_int_equal(sa_google_jwks_parse(many, strlen(many), &set, NULL), SA_ERR_INVALID);
}

/* ---- keys from the network (issue 9, point 1) ---- */

/* The n of a JWKS text's key with this kid (a pointer into the text, up to the closing quote),
 * copied into out. */
static void jwks_n_of(const char *jwks, const char *kid, char *out, size_t size)
{
    char want[64];
    snprintf(want, sizeof want, "\"kid\":\"%s\",\"n\":\"", kid);
    const char *p = strstr(jwks, want);
    assert_non_null(p);
    p += strlen(want);
    const char *end = strchr(p, '"');
    assert_non_null(end);
    assert_true((size_t)(end - p) < size);
    memcpy(out, p, (size_t)(end - p));
    out[end - p] = '\0';
}

/* A JWKS document: the good unit-kid-1 key plus an RS256 key `kid` with this n and e. */
static char *jwks_with(const char *kid, const char *n, const char *e)
{
    char good[512];
    jwks_n_of(JWKS, "unit-kid-1", good, sizeof good);
    size_t size = strlen(good) + strlen(n) + strlen(e) + strlen(kid) + 256;
    char *doc = malloc(size);
    assert_non_null(doc);
    snprintf(doc, size,
             "{\"keys\":[{\"kty\":\"RSA\",\"alg\":\"RS256\",\"use\":\"sig\",\"kid\":\"unit-kid-1\","
             "\"n\":\"%s\",\"e\":\"AQAB\"},{\"kty\":\"RSA\",\"alg\":\"RS256\",\"use\":\"sig\","
             "\"kid\":\"%s\",\"n\":\"%s\",\"e\":\"%s\"}]}", good, kid, n, e);
    return doc;
}

/* base64url of `len` bytes: the unit-kid-2 modulus changed by `change`, or `fill` bytes. */
static void modulus_b64(int change, unsigned char fill, size_t len, char *out, size_t size)
{
    unsigned char bytes[1100];
    size_t n = 0;
    char text[512];
    assert_true(len <= sizeof bytes);
    if (change) {
        jwks_n_of(JWKS, "unit-kid-2", text, sizeof text);
        assert_int_equal(sa_b64url_decode(text, strlen(text), bytes, sizeof bytes, &n), SA_OK);
        bytes[n - 1] &= 0xFE; /* even */
    } else {
        memset(bytes, fill, len);
        n = len;
    }
    assert_true(sa_b64url_encode(bytes, n, out, size) > 0);
}

static void test_jwks_key_rules(void **state)
{
    char key2[512], even[512], weak[256], huge[1600], ones[512];
    jwks_n_of(JWKS, "unit-kid-2", key2, sizeof key2);
    jwks_n_of(JWKS_WEAK, "unit-weak", weak, sizeof weak);
    modulus_b64(1, 0, 0, even, sizeof even);
    modulus_b64(0, 0xFF, 1100, huge, sizeof huge);  /* 8800 bits */
    modulus_b64(0, 0xFF, 256, ones, sizeof ones);   /* 2^2048-1: odd, but divisible by 3 */
    static const struct { const char *e; int n_kind; const char *reason; } cases[] = {
        { "AQ", 0, "exponent under 65537" },              /* e = 1: the forgery of point 1 */
        { "Ag", 0, "exponent under 65537" },              /* e = 2 */
        { "Aw", 0, "exponent under 65537" },              /* e = 3 */
        { "AQAA", 0, "exponent under 65537" },            /* e = 65536 */
        { "AQAC", 0, "exponent is even" },                /* e = 65538 */
        { "AQAAAAAAAAAAAQ", 0, "exponent over 64 bits" },
        { "AQ==", 0, "n or e is not base64url" },
        { "AQAB", 1, "modulus is even" },
        { "AQAB", 2, "modulus under 2048 bits" },
        { "AQAB", 3, "modulus over 8192 bits" },
        { "AQAB", 4, "fails OpenSSL's public key check" },
    };
    const char *moduli[] = { key2, even, weak, huge, ones };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *doc = jwks_with("bad-key", moduli[cases[i].n_kind], cases[i].e);
        sa_google_keyset set = { 0 };
        sa_error err = { 0 };
        if (sa_google_jwks_parse(doc, strlen(doc), &set, &err) != SA_OK)
            fail_msg("case %zu: document refused: %s", i, err.msg);
        assert_int_equal(set.n, 1);
        assert_non_null(sa_google_keyset_find(&set, "unit-kid-1"));
        assert_null(sa_google_keyset_find(&set, "bad-key"));
        assert_int_equal(set.n_rejected, 1);
        assert_string_equal(set.rejected[0].kid, "bad-key");
        if (strcmp(set.rejected[0].reason, cases[i].reason) != 0)
            fail_msg("case %zu: reason %s, wanted %s", i, set.rejected[0].reason,
                     cases[i].reason);
        sa_google_keyset_clear(&set);
        free(doc);
    }

    /* The same key with e = 65537 and e = 65539 is taken: the rules refuse only what they
     * name. */
    static const char *good_e[] = { "AQAB", "AQAD" };
    for (size_t i = 0; i < 2; i++) {
        char *doc = jwks_with("ok-key", key2, good_e[i]);
        sa_google_keyset set = { 0 };
        assert_int_equal(sa_google_jwks_parse(doc, strlen(doc), &set, NULL), SA_OK);
        assert_int_equal(set.n, 2);
        assert_int_equal(set.n_rejected, 0);
        sa_google_keyset_clear(&set);
        free(doc);
    }

    /* A kid that could forge a log line is kept printable; a repeated kid, even of a refused
     * key, still refuses the document. */
    char *doc = jwks_with("a\\nb\\u00e9", key2, "AQ");
    sa_google_keyset set = { 0 };
    assert_int_equal(sa_google_jwks_parse(doc, strlen(doc), &set, NULL), SA_OK);
    assert_string_equal(set.rejected[0].kid, "a?b??");
    sa_google_keyset_clear(&set);
    free(doc);
    doc = jwks_with("unit-kid-1", key2, "AQ");
    assert_int_equal(sa_google_jwks_parse(doc, strlen(doc), &set, NULL), SA_ERR_INVALID);
    free(doc);

    /* Only refused keys: the document is refused, and the message names the kid and why. */
    static const char only_bad[] =
        "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"lonely\",\"n\":\"AQAB\",\"e\":\"AQ\"}]}";
    sa_error err = { 0 };
    assert_int_equal(sa_google_jwks_parse(only_bad, strlen(only_bad), &set, &err),
                     SA_ERR_INVALID);
    assert_non_null(strstr(err.msg, "kid lonely: modulus under 2048 bits"));
}

/* A JWKS document of count RS256 keys, each with kid kids[i] (JSON text), modulus ns[i] and
 * exponent es[i]. */
static char *jwks_of(size_t count, const char **kids, const char **ns, const char **es)
{
    size_t size = 32;
    for (size_t i = 0; i < count; i++)
        size += strlen(kids[i]) + strlen(ns[i]) + strlen(es[i]) + 96;
    char *doc = malloc(size);
    assert_non_null(doc);
    size_t at = (size_t)snprintf(doc, size, "{\"keys\":[");
    for (size_t i = 0; i < count; i++)
        at += (size_t)snprintf(doc + at, size - at,
                               "%s{\"kty\":\"RSA\",\"alg\":\"RS256\",\"kid\":\"%s\",\"n\":\"%s\","
                               "\"e\":\"%s\"}", i ? "," : "", kids[i], ns[i], es[i]);
    snprintf(doc + at, size - at, "]}");
    return doc;
}

/* Review of issue 9, F3 and F4: kids are compared as sent, not as the log-safe copy; and
 * F2: the work one document costs is bounded (keys judged, modulus bits checked). */
static void test_jwks_raw_kids_and_bounds(void **state)
{
    char good[512], big[1500];
    jwks_n_of(JWKS, "unit-kid-1", good, sizeof good);
    sa_google_keyset set = { 0 };
    sa_error err = { 0 };

    /* The same control-character kid twice, the first refused: still a repeat. */
    const char *dup_kids[] = { "a\\u0001", "a\\u0001" }, *ns[] = { good, good },
               *bad_good_e[] = { "AQ", "AQAB" };
    char *doc = jwks_of(2, dup_kids, ns, bad_good_e);
    assert_int_equal(sa_google_jwks_parse(doc, strlen(doc), &set, &err), SA_ERR_INVALID);
    assert_string_equal(err.msg, "JWKS document repeats a kid");
    free(doc);

    /* Two kids that differ only where the log copy has '?': no repeat, the good key is
     * taken under its own kid. */
    const char *near_kids[] = { "a\\u0001", "a?" };
    doc = jwks_of(2, near_kids, ns, bad_good_e);
    assert_int_equal(sa_google_jwks_parse(doc, strlen(doc), &set, &err), SA_OK);
    assert_int_equal(set.n, 1);
    assert_non_null(sa_google_keyset_find(&set, "a?"));
    assert_int_equal(set.n_rejected, 1);
    assert_string_equal(set.rejected[0].kid, "a?");
    assert_string_equal(set.rejected[0].raw_kid, "a\x01");
    sa_google_keyset_clear(&set);
    free(doc);

    /* The same 200-byte kid twice: each is too long, and the pair is a repeat. */
    char long_kid[201];
    memset(long_kid, 'k', 200);
    long_kid[200] = '\0';
    const char *long_kids[] = { "unit-kid-1", long_kid, long_kid }, *ns3[] = { good, good, good },
               *es3[] = { "AQAB", "AQAB", "AQAB" };
    doc = jwks_of(3, long_kids, ns3, es3);
    assert_int_equal(sa_google_jwks_parse(doc, strlen(doc), &set, &err), SA_ERR_INVALID);
    assert_string_equal(err.msg, "JWKS document repeats a kid");
    free(doc);

    /* A refused non-ASCII kid is known as refused: no refetch is claimed, the log says why. */
    const char *cafe_kids[] = { "unit-kid-1", "caf\xc3\xa9-bad" };
    doc = jwks_of(2, cafe_kids, ns, (const char *[]){ "AQAB", "AQ" });
    sa_google *g = sa_google_new(&cfg, NULL, &err);
    assert_non_null(g);
    assert_int_equal(sa_google_keys_install(g, doc, strlen(doc), NOW - 100, NOW + 3600, &err),
                     SA_OK);
    EVP_PKEY *pkey = NULL;
    assert_int_equal(sa_google_key_for(g, "caf\xc3\xa9-bad", NOW, &pkey, &err),
                     SA_ERR_NOT_FOUND);
    assert_string_equal(err.msg, "kid names a key we refused (exponent under 65537)");
    assert_int_equal(g->forced_at, 0);
    sa_google_free(g);
    free(doc);

    /* 18 good keys: the first 16 are judged and taken, the rest refused unjudged. */
    const char *many_kids[18], *many_n[18], *many_e[18];
    char names[18][8];
    for (int i = 0; i < 18; i++) {
        snprintf(names[i], sizeof names[i], "k%d", i);
        many_kids[i] = names[i];
        many_n[i] = good;
        many_e[i] = "AQAB";
    }
    doc = jwks_of(18, many_kids, many_n, many_e);
    assert_int_equal(sa_google_jwks_parse(doc, strlen(doc), &set, &err), SA_OK);
    assert_int_equal(set.n, SA_GOOGLE_CHECKED_KEYS);
    assert_int_equal(set.n_rejected, 2);
    assert_string_equal(set.rejected[1].kid, "k17");
    assert_string_equal(set.rejected[1].reason, "over 16 RS256 keys in the document");
    sa_google_keyset_clear(&set);
    free(doc);

    /* 8192-bit moduli: OpenSSL checks at most SA_GOOGLE_CHECK_BITS bits of them in all. */
    modulus_b64(0, 0xFF, 1024, big, sizeof big);
    const char *big_kids[] = { "unit-kid-1", "b1", "b2", "b3", "b4", "b5" },
               *big_n[] = { good, big, big, big, big, big },
               *big_e[] = { "AQAB", "AQAB", "AQAB", "AQAB", "AQAB", "AQAB" };
    doc = jwks_of(6, big_kids, big_n, big_e);
    assert_int_equal(sa_google_jwks_parse(doc, strlen(doc), &set, &err), SA_OK);
    assert_int_equal(set.n, 1);
    assert_int_equal(set.n_rejected, 5);
    for (size_t i = 0; i < 3; i++) /* 2048 + 3 x 8192 bits fit in 32768 */
        assert_string_equal(set.rejected[i].reason, "fails OpenSSL's public key check");
    for (size_t i = 3; i < 5; i++)
        assert_string_equal(set.rejected[i].reason,
                            "over the document's budget of modulus bits to check");
    sa_google_keyset_clear(&set);
    free(doc);
}

/* Issue 13: the checked document a fetching process shares. A modulus that passes our cheap
 * rules but not OpenSSL's check (2^2048 - 1: odd, divisible by 3) shows which checks a stored
 * document with our verdict skips. */
static void test_jwks_checked_document(void **state)
{
    char ones[512], good[512];
    modulus_b64(0, 0xFF, 256, ones, sizeof ones);
    jwks_n_of(JWKS, "unit-kid-1", good, sizeof good);
    char *doc = jwks_with("composite", ones, "AQAB");
    sa_google_keyset set = { 0 };
    sa_error err = { 0 };

    /* From Google: refused by OpenSSL's check. */
    assert_int_equal(sa_google_jwks_parse(doc, strlen(doc), &set, &err), SA_OK);
    assert_int_equal(set.n, 1);
    assert_string_equal(set.rejected[0].reason, "fails OpenSSL's public key check");

    /* The checked document: the accepted key as sent, the refused one only by kid and why. */
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)doc, strlen(doc), digest);
    assert_int_equal(sa_google_jwks_checked(&set, digest, &err), SA_OK);
    assert_true(set.source_known);
    assert_memory_equal(set.source_sha256, digest, sizeof digest);
    char *checked = strdup(set.doc);
    assert_non_null(checked);
    assert_int_equal(set.doc_len, strlen(checked));
    sa_google_keyset_clear(&set);
    assert_null(strstr(checked, ones));
    char want[1024];
    snprintf(want, sizeof want,
             "{\"keys\":[{\"kty\":\"RSA\",\"alg\":\"RS256\",\"use\":\"sig\",\"kid\":\"unit-kid-1\","
             "\"n\":\"%s\",\"e\":\"AQAB\"}],\"socialauth_checked\":{\"google_sha256\":\"", good);
    assert_int_equal(strncmp(checked, want, strlen(want)), 0);
    char hex[2 * SHA256_DIGEST_LENGTH + 1];
    for (size_t i = 0; i < sizeof digest; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    snprintf(want, sizeof want, "%s\",\"refused\":[{\"kid\":\"composite\",\"reason\":\"fails "
             "OpenSSL's public key check\"}]}}", hex);
    assert_string_equal(checked + strlen(checked) - strlen(want), want);

    /* Read back from the store: the same keys and refusals, and Google's digest. */
    assert_int_equal(sa_google_jwks_parse_stored(checked, strlen(checked), &set, &err), SA_OK);
    assert_int_equal(set.n, 1);
    assert_non_null(sa_google_keyset_find(&set, "unit-kid-1"));
    assert_int_equal(set.n_rejected, 1);
    assert_string_equal(set.rejected[0].raw_kid, "composite");
    assert_string_equal(set.rejected[0].reason, "fails OpenSSL's public key check");
    assert_true(set.source_known);
    assert_memory_equal(set.source_sha256, digest, sizeof digest);
    assert_string_equal(set.doc, checked);

    /* A verifier holding it answers the refused kid at once, without a refetch. */
    sa_google *g = sa_google_new(&cfg, NULL, &err);
    assert_non_null(g);
    set.fetched_at = NOW - 100;
    set.expires_at = NOW + 3600;
    g->keys = set;
    memset(&set, 0, sizeof set);
    EVP_PKEY *pkey = NULL;
    assert_int_equal(sa_google_key_for(g, "composite", NOW, &pkey, &err), SA_ERR_NOT_FOUND);
    assert_string_equal(err.msg, "kid names a key we refused (fails OpenSSL's public key check)");
    assert_int_equal(g->forced_at, 0);
    const sa_google_rejected_key *rejected = NULL;
    assert_int_equal(sa_google_rejected_keys(g, &rejected), 1); /* logged once per process */
    assert_string_equal(rejected[0].kid, "composite");
    sa_google_free(g);

    /* Google's parser ignores the member: nothing refused is taken from it. */
    assert_int_equal(sa_google_jwks_parse(checked, strlen(checked), &set, &err), SA_OK);
    assert_int_equal(set.n, 1);
    assert_int_equal(set.n_rejected, 0);
    assert_false(set.source_known);
    sa_google_keyset_clear(&set);
    free(checked);

    /* The trust decision: a stored document carrying the member is not checked by OpenSSL, so
     * the composite key is taken; the same document without it (Google's answer, or a store
     * an older release wrote) is checked in full and the key refused. */
    size_t len = strlen(doc);
    char *trusted = malloc(len + 64);
    assert_non_null(trusted);
    memcpy(trusted, doc, len - 1);
    snprintf(trusted + len - 1, 64, ",\"socialauth_checked\":{\"refused\":[]}}");
    assert_int_equal(sa_google_jwks_parse_stored(trusted, strlen(trusted), &set, &err), SA_OK);
    assert_int_equal(set.n, 2);
    assert_non_null(sa_google_keyset_find(&set, "composite"));
    assert_false(set.source_known);
    sa_google_keyset_clear(&set);
    assert_int_equal(sa_google_jwks_parse(trusted, strlen(trusted), &set, &err), SA_OK);
    assert_null(sa_google_keyset_find(&set, "composite"));
    sa_google_keyset_clear(&set);
    assert_int_equal(sa_google_jwks_parse_stored(doc, strlen(doc), &set, &err), SA_OK);
    assert_null(sa_google_keyset_find(&set, "composite"));
    assert_string_equal(set.rejected[0].reason, "fails OpenSSL's public key check");
    sa_google_keyset_clear(&set);
    free(trusted);

    /* Our cheap rules still apply to a stored document with the member: e = 1 is refused. */
    char *weak_e = jwks_with("e1", good, "AQ");
    len = strlen(weak_e);
    trusted = malloc(len + 64);
    assert_non_null(trusted);
    memcpy(trusted, weak_e, len - 1);
    snprintf(trusted + len - 1, 64, ",\"socialauth_checked\":{\"refused\":[]}}");
    assert_int_equal(sa_google_jwks_parse_stored(trusted, strlen(trusted), &set, &err), SA_OK);
    assert_null(sa_google_keyset_find(&set, "e1"));
    assert_string_equal(set.rejected[0].reason, "exponent under 65537");
    sa_google_keyset_clear(&set);
    free(trusted);
    free(weak_e);

    /* A malformed member refuses the stored document (the process then fetches for itself). */
    static const char *bad_members[] = {
        "{\"refused\":[]}", /* the control: well formed, accepted */
        "[]", "{}", "{\"refused\":{}}", "{\"refused\":[1]}", "{\"refused\":[{\"kid\":\"x\"}]}",
        "{\"refused\":[{\"kid\":7,\"reason\":\"r\"}]}",
        "{\"refused\":[{\"kid\":\"unit-kid-1\",\"reason\":\"r\"}]}", /* a taken kid */
        "{\"refused\":[{\"kid\":\"x\",\"reason\":\"r\"},{\"kid\":\"x\",\"reason\":\"r\"}]}",
        "{\"refused\":[],\"google_sha256\":\"00\"}",
        "{\"refused\":[],\"google_sha256\":\"zz000000000000000000000000000000000000000000000000"
        "00000000000000\"}",
    };
    for (size_t i = 0; i < sizeof bad_members / sizeof bad_members[0]; i++) {
        size_t size = strlen(JWKS) + strlen(bad_members[i]) + 64;
        char *bad = malloc(size);
        assert_non_null(bad);
        snprintf(bad, size, "%.*s,\"socialauth_checked\":%s}", (int)strlen(JWKS) - 1, JWKS,
                 bad_members[i]);
        sa_status st = sa_google_jwks_parse_stored(bad, strlen(bad), &set, &err);
        if (st != (i == 0 ? SA_OK : SA_ERR_INVALID))
            fail_msg("member %zu: status %d", i, (int)st);
        assert_int_equal(set.n, i == 0 ? 2 : 0);
        sa_google_keyset_clear(&set);
        free(bad);
    }
    free(doc);
}

/* The attack of issue 9 point 1: with e = 1, RSA "verification" of s is s itself, so the
 * PKCS#1 v1.5 padding of SHA-256(header.payload) is a valid signature made without any
 * private key. The key must be refused, so the token names an unknown key. */
static void test_jwks_e1_forgery(void **state)
{
    static const unsigned char digest_info[] = {
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
        0x01, 0x05, 0x00, 0x04, 0x20 };
    static const char header[] = "{\"alg\":\"RS256\",\"kid\":\"forged-e1\",\"typ\":\"JWT\"}";
    static const char payload[] =
        "{\"iss\":\"https://accounts.google.com\",\"aud\":\"" CLIENT "\",\"sub\":\"666\","
        "\"email\":\"victim@example.com\",\"email_verified\":true,"
        "\"iat\":1700000000,\"exp\":1700003600}";
    char key2[512], token[2048];
    unsigned char em[256];
    size_t pos = 0;

    jwks_n_of(JWKS, "unit-kid-2", key2, sizeof key2);
    pos += sa_b64url_encode((const unsigned char *)header, strlen(header), token, sizeof token);
    token[pos++] = '.';
    pos += sa_b64url_encode((const unsigned char *)payload, strlen(payload), token + pos,
                            sizeof token - pos);
    size_t signed_len = pos;
    /* EM = 00 01 FF..FF 00 DigestInfo(SHA-256) hash (RFC 8017 section 9.2) */
    memset(em, 0xFF, sizeof em);
    em[0] = 0x00;
    em[1] = 0x01;
    size_t t = sizeof em - sizeof digest_info - 32;
    em[t - 1] = 0x00;
    memcpy(em + t, digest_info, sizeof digest_info);
    assert_non_null(SHA256((const unsigned char *)token, signed_len, em + t + sizeof digest_info));
    token[pos++] = '.';
    pos += sa_b64url_encode(em, sizeof em, token + pos, sizeof token - pos);
    token[pos] = '\0';

    /* The forgery is real: built straight from n and e = 1, OpenSSL "verifies" it. */
    unsigned char nb[300], eb[1] = { 1 };
    size_t nlen = 0;
    assert_int_equal(sa_b64url_decode(key2, strlen(key2), nb, sizeof nb, &nlen), SA_OK);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *bn_n = BN_bin2bn(nb, (int)nlen, NULL), *bn_e = BN_bin2bn(eb, 1, NULL);
    assert_true(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n));
    assert_true(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e));
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *weak = NULL;
    assert_true(EVP_PKEY_fromdata_init(ctx) > 0);
    assert_true(EVP_PKEY_fromdata(ctx, &weak, EVP_PKEY_PUBLIC_KEY, params) > 0);
    assert_true(sa_google_rs256_verify(weak, token, signed_len, em, sizeof em));
    EVP_PKEY_free(weak);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);

    /* Published next to a good key, the e = 1 key is refused and reported once. */
    char *doc = jwks_with("forged-e1", key2, "AQ");
    sa_error err = { 0 };
    sa_google *g = sa_google_new(&cfg, NULL, &err);
    assert_non_null(g);
    assert_int_equal(sa_google_keys_install(g, doc, strlen(doc), NOW - 100, NOW + 3600, &err),
                     SA_OK);
    const sa_google_rejected_key *rejected = NULL;
    assert_int_equal(sa_google_rejected_keys(g, &rejected), 1);
    assert_string_equal(rejected[0].kid, "forged-e1");
    assert_string_equal(rejected[0].reason, "exponent under 65537");
    assert_int_equal(sa_google_rejected_keys(g, &rejected), 0);
    expect_rejected(g, token, NULL, NOW, SA_GOOGLE_R_UNKNOWN_KEY);
    assert_int_equal(verify(g, T_GOOD, NULL, NOW, &(const char *){ NULL }), SA_GOOGLE_OK);
    sa_google_free(g);

    /* Stale keys and Google down: the refused kid is still judged, not "cannot tell" (503). */
    g = sa_google_new(&cfg, NULL, &err);
    assert_non_null(g);
    assert_int_equal(sa_google_keys_install(g, doc, strlen(doc), NOW - 100, NOW - 1, &err),
                     SA_OK);
    expect_rejected(g, token, NULL, NOW, SA_GOOGLE_R_UNKNOWN_KEY);
    assert_int_equal(verify(g, T_UNKNOWN_KID, NULL, NOW, &(const char *){ NULL }),
                     SA_GOOGLE_UNAVAILABLE);
    sa_google_free(g);
    free(doc);
}

static void test_max_age(void **state)
{
    assert_int_equal(sa_google_max_age("public, max-age=19964, must-revalidate, no-transform",
                                       NULL), 19964);
    assert_int_equal(sa_google_max_age("public, max-age=19964", "964"), 19000);
    assert_int_equal(sa_google_max_age("public, max-age=10", "964"), SA_GOOGLE_MIN_MAX_AGE);
    assert_int_equal(sa_google_max_age(NULL, NULL), SA_GOOGLE_DEFAULT_MAX_AGE);
    assert_int_equal(sa_google_max_age("", ""), SA_GOOGLE_DEFAULT_MAX_AGE);
    assert_int_equal(sa_google_max_age("public", NULL), SA_GOOGLE_DEFAULT_MAX_AGE);
    assert_int_equal(sa_google_max_age("max-age=12x", NULL), SA_GOOGLE_DEFAULT_MAX_AGE);
    assert_int_equal(sa_google_max_age("no-cache, max-age=100", NULL), SA_GOOGLE_MIN_MAX_AGE);
    assert_int_equal(sa_google_max_age("No-Store", NULL), SA_GOOGLE_MIN_MAX_AGE);
    assert_int_equal(sa_google_max_age("MAX-AGE=60", NULL), 60);
    assert_int_equal(sa_google_max_age("max-age=0", NULL), SA_GOOGLE_MIN_MAX_AGE);
    assert_int_equal(sa_google_max_age("max-age=99999999999999999999999", NULL),
                     SA_GOOGLE_MAX_MAX_AGE);
    assert_int_equal(sa_google_max_age("max-age=100", "-5"), 100);
}

/* ---- RS256 and at_hash ---- */

static void test_rs256(void **state)
{
    sa_google_keyset set = { 0 };
    unsigned char sig[512];
    size_t sig_len = 0;
    assert_int_equal(sa_google_jwks_parse(JWKS, strlen(JWKS), &set, NULL), SA_OK);
    const char *dot = strrchr(T_GOOD, '.');
    assert_int_equal(sa_b64url_decode(dot + 1, strlen(dot + 1), sig, sizeof sig, &sig_len),
                     SA_OK);
    size_t signed_len = (size_t)(dot - T_GOOD);
    EVP_PKEY *k1 = sa_google_keyset_find(&set, "unit-kid-1");
    EVP_PKEY *k2 = sa_google_keyset_find(&set, "unit-kid-2");
    assert_true(sa_google_rs256_verify(k1, T_GOOD, signed_len, sig, sig_len));
    assert_false(sa_google_rs256_verify(k2, T_GOOD, signed_len, sig, sig_len));
    assert_false(sa_google_rs256_verify(k1, T_GOOD, signed_len - 1, sig, sig_len));
    assert_false(sa_google_rs256_verify(k1, T_GOOD, signed_len, sig, sig_len - 1));
    assert_false(sa_google_rs256_verify(NULL, T_GOOD, signed_len, sig, sig_len));
    sig[10] ^= 1;
    assert_false(sa_google_rs256_verify(k1, T_GOOD, signed_len, sig, sig_len));
    sa_google_keyset_clear(&set);
}

static void test_at_hash(void **state)
{
    char out[64];
    assert_int_equal(sa_google_at_hash(AT, out, sizeof out), 22);
    assert_string_equal(out, AT_HASH);
    assert_int_equal(sa_google_at_hash(AT, out, 10), 0);
}

/* ---- whole tokens ---- */

static void test_verify_good(void **state)
{
    sa_google *g = verifier(NOW + 3600);
    sa_google_identity id;
    const char *reason = "x";
    sa_error err = { 0 };

    assert_int_equal(sa_google_verify_id_token(g, T_GOOD, NULL, NOW, &id, &reason, &err),
                     SA_GOOGLE_OK);
    assert_null(reason);
    assert_string_equal(id.sub, "110169484474386276334");
    assert_string_equal(id.email, "jose.ramirez@example.com");
    assert_true(id.email_verified);
    assert_string_equal(id.given_name, "Jos\xc3\xa9");
    assert_string_equal(id.family_name, "Ram\xc3\xadrez");
    assert_string_equal(id.name, "Jos\xc3\xa9 Ram\xc3\xadrez");
    assert_string_equal(id.picture, "https://lh3.googleusercontent.com/a/unit");
    assert_non_null(id.claims_json);
    assert_non_null(strstr(id.claims_json, "\"sub\":\"110169484474386276334\""));
    assert_non_null(strstr(id.claims_json, "\"given_name\":\"Jos\xc3\xa9\""));
    sa_google_identity_clear(&id);
    assert_null(id.claims_json);

    /* With the access token it was issued with (at_hash matches). */
    assert_int_equal(verify(g, T_GOOD, AT, NOW, &reason), SA_GOOGLE_OK);
    /* A token signed by the second published key. */
    assert_int_equal(verify(g, T_KEY2, NULL, NOW, &reason), SA_GOOGLE_OK);
    /* Several audiences, all ours. */
    assert_int_equal(verify(g, T_AUD_ARRAY, NULL, NOW, &reason), SA_GOOGLE_OK);
    /* Same token as a JWT given where an access token is expected. */
    assert_int_equal(sa_google_verify_access_token(g, T_GOOD, NOW, &id, &reason, &err),
                     SA_GOOGLE_OK);
    assert_string_equal(id.sub, "110169484474386276334");
    sa_google_identity_clear(&id);
    sa_google_free(g);
}

static void test_verify_attacks(void **state)
{
    sa_google *g = verifier(NOW + 3600);
    expect_rejected(g, T_NONE, NULL, NOW, SA_GOOGLE_R_UNSUPPORTED_ALG);
    expect_rejected(g, T_HS256_PUBKEY, NULL, NOW, SA_GOOGLE_R_UNSUPPORTED_ALG);
    expect_rejected(g, T_OTHER_KEY, NULL, NOW, SA_GOOGLE_R_INVALID_SIGNATURE);
    expect_rejected(g, T_TAMPERED, NULL, NOW, SA_GOOGLE_R_INVALID_SIGNATURE);
    expect_rejected(g, T_UNKNOWN_KID, NULL, NOW, SA_GOOGLE_R_UNKNOWN_KEY);
    expect_rejected(g, T_NO_KID, NULL, NOW, SA_GOOGLE_R_UNKNOWN_KEY);
    expect_rejected(g, T_CRIT, NULL, NOW, SA_GOOGLE_R_MALFORMED);
    expect_rejected(g, T_WRONG_AUD, NULL, NOW, SA_GOOGLE_R_WRONG_AUDIENCE);
    expect_rejected(g, T_GOOD, "ya29.another-access-token", NOW, SA_GOOGLE_R_BAD_AT_HASH);
    expect_rejected(g, T_GOOD, NULL, 1700003600, SA_GOOGLE_R_EXPIRED);
    expect_rejected(g, T_GOOD, NULL, 1700000000 - 1, SA_GOOGLE_R_IN_FUTURE);

    static const char *malformed[] = {
        "", "abc", "a.b", "a.b.c.d", "...", "e30.e30.", "e30.e30.AAAA",
        "eyJhbGciOiJSUzI1NiJ9", "!!!.e30.AAAA",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        const char *reason = NULL;
        if (verify(g, malformed[i], NULL, NOW, &reason) != SA_GOOGLE_REJECTED)
            fail_msg("malformed token %zu not rejected", i);
    }
    const char *reason = NULL;
    assert_int_equal(verify(g, NULL, NULL, NOW, &reason), SA_GOOGLE_REJECTED);

    /* Over the size bound, refused before any work. */
    char *big = malloc(SA_GOOGLE_TOKEN_MAX + 2);
    assert_non_null(big);
    memset(big, 'A', SA_GOOGLE_TOKEN_MAX + 1);
    big[SA_GOOGLE_TOKEN_MAX + 1] = '\0';
    expect_rejected(g, big, NULL, NOW, SA_GOOGLE_R_MALFORMED);
    free(big);
    sa_google_free(g);
}

static void test_leeway(void **state)
{
    sa_google *g = verifier(2000000000);
    const char *reason = NULL;
    /* Google's times use google_leeway (default 60 s), not our tokens' leeway. */
    int64_t saved = cfg.google_leeway;
    cfg.google_leeway = 30;
    cfg.leeway = 1000;
    assert_int_equal(verify(g, T_GOOD, NULL, 1700003600 + 29, &reason), SA_GOOGLE_OK);
    expect_rejected(g, T_GOOD, NULL, 1700003600 + 30, SA_GOOGLE_R_EXPIRED);
    assert_int_equal(verify(g, T_GOOD, NULL, 1700000000 - 30, &reason), SA_GOOGLE_OK);
    expect_rejected(g, T_GOOD, NULL, 1700000000 - 31, SA_GOOGLE_R_IN_FUTURE);
    cfg.leeway = 0;
    cfg.google_leeway = 60;
    assert_int_equal(verify(g, T_GOOD, NULL, 1700000000 - 60, &reason), SA_GOOGLE_OK);
    expect_rejected(g, T_GOOD, NULL, 1700000000 - 61, SA_GOOGLE_R_IN_FUTURE);
    cfg.google_leeway = saved;
    sa_google_free(g);
}

/* ---- each claim rule on its own ---- */

static const char *check(const char *json, const char *at, int64_t now)
{
    json_object *claims = NULL;
    assert_int_equal(sa_json_parse(json, strlen(json), &claims, NULL), SA_OK);
    const char *r = sa_google_check_claims(&cfg, claims, at, now);
    json_object_put(claims);
    return r;
}

#define ISS "\"iss\":\"https://accounts.google.com\""
#define AUD "\"aud\":\"" CLIENT "\""
#define TIMES "\"iat\":1700000000,\"exp\":1700003600"
#define SUB "\"sub\":\"42\""

static void expect_claims(const char *json, const char *at, const char *want)
{
    const char *got = check(json, at, NOW);
    if (!want) {
        if (got)
            fail_msg("%s refused: %s", json, got);
        return;
    }
    if (!got || strcmp(got, want) != 0)
        fail_msg("%s: wanted %s, got %s", json, want, got ? got : "pass");
}

static void test_claims(void **state)
{
    expect_claims("{" ISS "," AUD "," TIMES "," SUB "}", NULL, NULL);
    expect_claims("{\"iss\":\"accounts.google.com\"," AUD "," TIMES "," SUB "}", NULL, NULL);
    expect_claims("{" ISS ",\"aud\":\"" OTHER_CLIENT "\",\"azp\":\"" CLIENT "\"," TIMES "," SUB
                  "}", NULL, NULL);

    /* issuer */
    expect_claims("{\"iss\":\"https://evil.example\"," AUD "," TIMES "," SUB "}", NULL,
                  SA_GOOGLE_R_WRONG_ISSUER);
    expect_claims("{\"iss\":\"http://accounts.google.com\"," AUD "," TIMES "," SUB "}", NULL,
                  SA_GOOGLE_R_WRONG_ISSUER);
    expect_claims("{" AUD "," TIMES "," SUB "}", NULL, SA_GOOGLE_R_WRONG_ISSUER);
    expect_claims("{\"iss\":[\"accounts.google.com\"]," AUD "," TIMES "," SUB "}", NULL,
                  SA_GOOGLE_R_MALFORMED);

    /* audience */
    expect_claims("{" ISS ",\"aud\":\"evil\"," TIMES "," SUB "}", NULL, SA_GOOGLE_R_WRONG_AUDIENCE);
    expect_claims("{" ISS "," TIMES "," SUB "}", NULL, SA_GOOGLE_R_WRONG_AUDIENCE);
    expect_claims("{" ISS ",\"aud\":[]," TIMES "," SUB "}", NULL, SA_GOOGLE_R_WRONG_AUDIENCE);
    expect_claims("{" ISS ",\"aud\":[\"" CLIENT "\",\"evil\"]," TIMES "," SUB "}", NULL,
                  SA_GOOGLE_R_WRONG_AUDIENCE);
    expect_claims("{" ISS ",\"aud\":[\"" CLIENT "\",7]," TIMES "," SUB "}", NULL,
                  SA_GOOGLE_R_WRONG_AUDIENCE);
    expect_claims("{" ISS ",\"aud\":7," TIMES "," SUB "}", NULL, SA_GOOGLE_R_WRONG_AUDIENCE);
    expect_claims("{" ISS ",\"aud\":\"" CLIENT "\\u0000x\"," TIMES "," SUB "}", NULL,
                  SA_GOOGLE_R_WRONG_AUDIENCE);

    /* authorized party */
    expect_claims("{" ISS "," AUD ",\"azp\":\"evil\"," TIMES "," SUB "}", NULL,
                  SA_GOOGLE_R_WRONG_AZP);
    expect_claims("{" ISS "," AUD ",\"azp\":5," TIMES "," SUB "}", NULL, SA_GOOGLE_R_MALFORMED);

    /* times */
    expect_claims("{" ISS "," AUD ",\"iat\":1700000000,\"exp\":1700000100," SUB "}", NULL,
                  SA_GOOGLE_R_EXPIRED);
    expect_claims("{" ISS "," AUD ",\"iat\":1700000000,\"exp\":1700000101," SUB "}", NULL, NULL);
    expect_claims("{" ISS "," AUD ",\"iat\":1700000101,\"exp\":1700003600," SUB "}", NULL,
                  SA_GOOGLE_R_IN_FUTURE);
    expect_claims("{" ISS "," AUD ",\"iat\":1700000100,\"exp\":1700003600," SUB "}", NULL, NULL);
    expect_claims("{" ISS "," AUD ",\"iat\":1700000000,\"exp\":\"1700003600\"," SUB "}", NULL,
                  SA_GOOGLE_R_MALFORMED);
    expect_claims("{" ISS "," AUD ",\"iat\":1700000000,\"exp\":1700003600.5," SUB "}", NULL,
                  SA_GOOGLE_R_MALFORMED);
    expect_claims("{" ISS "," AUD ",\"iat\":1700000000,\"exp\":1e300," SUB "}", NULL,
                  SA_GOOGLE_R_MALFORMED);
    expect_claims("{" ISS "," AUD ",\"exp\":1700003600," SUB "}", NULL, SA_GOOGLE_R_MALFORMED);
    expect_claims("{" ISS "," AUD ",\"iat\":true,\"exp\":1700003600," SUB "}", NULL,
                  SA_GOOGLE_R_MALFORMED);

    /* subject */
    expect_claims("{" ISS "," AUD "," TIMES "}", NULL, SA_GOOGLE_R_MISSING_SUB);
    expect_claims("{" ISS "," AUD "," TIMES ",\"sub\":\"\"}", NULL, SA_GOOGLE_R_MISSING_SUB);
    expect_claims("{" ISS "," AUD "," TIMES ",\"sub\":42}", NULL, SA_GOOGLE_R_MALFORMED);
    expect_claims("{" ISS "," AUD "," TIMES ",\"sub\":null}", NULL, SA_GOOGLE_R_MALFORMED);

    /* at_hash */
    expect_claims("{" ISS "," AUD "," TIMES "," SUB ",\"at_hash\":\"" AT_HASH_LIT "\"}", AT, NULL);
    expect_claims("{" ISS "," AUD "," TIMES "," SUB ",\"at_hash\":\"" AT_HASH_LIT "\"}",
                  "ya29.other", SA_GOOGLE_R_BAD_AT_HASH);
    expect_claims("{" ISS "," AUD "," TIMES "," SUB ",\"at_hash\":\"" AT_HASH_LIT "x\"}", AT,
                  SA_GOOGLE_R_BAD_AT_HASH);
    expect_claims("{" ISS "," AUD "," TIMES "," SUB ",\"at_hash\":7}", AT, SA_GOOGLE_R_BAD_AT_HASH);
    /* at_hash is ignored without an access token, and its absence is not an error */
    expect_claims("{" ISS "," AUD "," TIMES "," SUB ",\"at_hash\":\"junk\"}", NULL, NULL);
    expect_claims("{" ISS "," AUD "," TIMES "," SUB "}", AT, NULL);
}

/* ---- numbers from outside (issue 9, point 3) ---- */

static bool tokeninfo_exp(const char *json, int64_t now, int64_t *exp)
{
    json_object *info = NULL;
    assert_int_equal(sa_json_parse(json, strlen(json), &info, NULL), SA_OK);
    bool ok = sa_google_tokeninfo_exp(info, now, exp);
    json_object_put(info);
    return ok;
}

static void test_tokeninfo_times(void **state)
{
    int64_t exp = 0;
    assert_true(tokeninfo_exp("{\"exp\":\"1700003600\",\"expires_in\":\"5\"}", NOW, &exp));
    assert_int_equal(exp, 1700003600);
    assert_true(tokeninfo_exp("{\"expires_in\":\"3599\"}", NOW, &exp));
    assert_int_equal(exp, NOW + 3599);
    assert_true(tokeninfo_exp("{\"expires_in\":3599}", NOW, &exp));
    assert_int_equal(exp, NOW + 3599);
    /* 2^63-1 seconds left saturates (UBSan flagged the overflow here). */
    assert_true(tokeninfo_exp("{\"expires_in\":9223372036854775807}", NOW, &exp));
    assert_int_equal(exp, INT64_MAX);
    assert_true(tokeninfo_exp("{\"expires_in\":9223372036854775807}", INT64_MAX, &exp));
    assert_int_equal(exp, INT64_MAX);
    assert_true(tokeninfo_exp("{\"exp\":9223372036854775807}", NOW, &exp));
    assert_int_equal(exp, INT64_MAX);
    /* Refused: negative, over int64, too many digits as text, other types, absent. */
    static const char *bad[] = {
        "{\"expires_in\":-1}", "{\"expires_in\":-9223372036854775808}",
        "{\"exp\":-5}", "{\"expires_in\":\"-1\"}", "{\"expires_in\":\"9223372036854775807\"}",
        "{\"expires_in\":9223372036854775808}", "{\"expires_in\":1e300}",
        "{\"expires_in\":3599.5}", "{\"expires_in\":true}", "{\"expires_in\":\"\"}",
        "{\"expires_in\":\" 5\"}", "{}",
        /* Review of issue 9, F6: a present but unusable exp does not fall back. */
        "{\"exp\":-1,\"expires_in\":3600}", "{\"exp\":\"\",\"expires_in\":3600}",
        "{\"exp\":null,\"expires_in\":3600}", "{\"exp\":1.5,\"expires_in\":3600}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_object *info = NULL;
        if (sa_json_parse(bad[i], strlen(bad[i]), &info, NULL) != SA_OK)
            continue; /* refused even earlier, by the JSON reader */
        if (sa_google_tokeninfo_exp(info, NOW, &exp))
            fail_msg("tokeninfo %s accepted: %lld", bad[i], (long long)exp);
        json_object_put(info);
    }

    /* ID token times at the int64 limits: compared, never computed with. */
    expect_claims("{" ISS "," AUD ",\"iat\":1700000000,\"exp\":9223372036854775807," SUB "}", NULL,
                  NULL);
    expect_claims("{" ISS "," AUD ",\"iat\":1700000000,\"exp\":-9223372036854775808," SUB "}",
                  NULL, SA_GOOGLE_R_EXPIRED);
    expect_claims("{" ISS "," AUD ",\"iat\":-9223372036854775808,\"exp\":1700003600," SUB "}",
                  NULL, NULL);
    expect_claims("{" ISS "," AUD ",\"iat\":9223372036854775807,\"exp\":1700003600," SUB "}",
                  NULL, SA_GOOGLE_R_IN_FUTURE);

    /* Cache-Control and Age at and past the int64 limits saturate. */
    assert_int_equal(sa_google_max_age("max-age=9223372036854775807", NULL),
                     SA_GOOGLE_MAX_MAX_AGE);
    assert_int_equal(sa_google_max_age("max-age=9223372036854775808", "9223372036854775808"), SA_GOOGLE_MIN_MAX_AGE);
    assert_int_equal(sa_google_max_age("max-age=100", "99999999999999999999999999"), SA_GOOGLE_MIN_MAX_AGE);
    assert_int_equal(sa_google_max_age("max-age=-100", NULL), SA_GOOGLE_DEFAULT_MAX_AGE);
}

/* ---- key cache without Google ---- */

static void test_cache_google_down(void **state)
{
    const char *reason = NULL;

    /* Stale keys still verify while Google cannot be reached. */
    sa_google *g = verifier(NOW - 1);
    assert_int_equal(verify(g, T_GOOD, NULL, NOW, &reason), SA_GOOGLE_OK);
    /* ... and a kid they do not know cannot be judged: 503, not a blame. */
    assert_int_equal(verify(g, T_UNKNOWN_KID, NULL, NOW, &reason), SA_GOOGLE_UNAVAILABLE);
    assert_null(reason);
    sa_google_free(g);

    /* No keys at all. */
    sa_error err = { 0 };
    g = sa_google_new(&cfg, NULL, &err);
    assert_non_null(g);
    assert_int_equal(verify(g, T_GOOD, NULL, NOW, &reason), SA_GOOGLE_UNAVAILABLE);
    /* The algorithm is judged before keys are wanted, so even now alg:none is a 400. */
    expect_rejected(g, T_NONE, NULL, NOW, SA_GOOGLE_R_UNSUPPORTED_ALG);
    sa_google_free(g);

    /* Fresh keys, unknown kid: the forced refetch fails, the kid stays unknown. */
    g = verifier(NOW + 3600);
    expect_rejected(g, T_UNKNOWN_KID, NULL, NOW, SA_GOOGLE_R_UNKNOWN_KEY);
    expect_rejected(g, T_UNKNOWN_KID, NULL, NOW + 1, SA_GOOGLE_R_UNKNOWN_KEY);
    sa_google_free(g);
}

/* ---- access token and code input checks (before any call) ---- */

static void test_input_checks(void **state)
{
    sa_google *g = verifier(NOW + 3600);
    sa_google_identity id;
    const char *reason = NULL;
    sa_error err = { 0 };

    static const char *bad_tokens[] = { "", "ya29 with space", "ya29.\r\nX-Evil: 1", "a=b" };
    for (size_t i = 0; i < sizeof bad_tokens / sizeof bad_tokens[0]; i++) {
        assert_int_equal(sa_google_verify_access_token(g, bad_tokens[i], NOW, &id, &reason, &err),
                         SA_GOOGLE_REJECTED);
        assert_string_equal(reason, SA_GOOGLE_R_MALFORMED);
    }
    /* A well-formed access token with no tokeninfo URL: cannot be checked. */
    assert_int_equal(sa_google_verify_access_token(g, "ya29.abc", NOW, &id, &reason, &err),
                     SA_GOOGLE_UNAVAILABLE);

    static const char *bad_verifiers[] = { "short", "has space has space has space has space xx",
                                           "\xc3\xa9" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
    for (size_t i = 0; i < sizeof bad_verifiers / sizeof bad_verifiers[0]; i++) {
        assert_int_equal(sa_google_exchange_code(g, "4/code", bad_verifiers[i], NULL, NOW, &id,
                                                 &reason, &err), SA_GOOGLE_REJECTED);
        assert_string_equal(reason, SA_GOOGLE_R_MALFORMED);
    }
    assert_int_equal(sa_google_exchange_code(g, "4/co de", NULL, NULL, NOW, &id, &reason, &err),
                     SA_GOOGLE_REJECTED);
    assert_int_equal(sa_google_exchange_code(g, "", NULL, NULL, NOW, &id, &reason, &err),
                     SA_GOOGLE_REJECTED);
    sa_google_free(g);
}

static void test_is_jwt(void **state)
{
    assert_true(sa_google_is_jwt(T_GOOD));
    assert_true(sa_google_is_jwt(T_NONE));
    assert_false(sa_google_is_jwt("ya29.a0AfH6SMB"));
    assert_false(sa_google_is_jwt("ya29.a0AfH6SMB.xyz"));
    assert_false(sa_google_is_jwt("a.b.c.d"));
    assert_false(sa_google_is_jwt(""));
    assert_false(sa_google_is_jwt(NULL));
}

static void test_urls(void **state)
{
    assert_true(sa_google_url_allowed("https://www.googleapis.com/oauth2/v3/certs"));
    assert_true(sa_google_url_allowed("http://127.0.0.1:8080/oauth2/v3/certs"));
    assert_true(sa_google_url_allowed("http://127.3.4.5/x"));
    assert_true(sa_google_url_allowed("http://localhost/x"));
    assert_true(sa_google_url_allowed("http://[::1]:9/x"));
    assert_false(sa_google_url_allowed("http://www.googleapis.com/oauth2/v3/certs"));
    assert_false(sa_google_url_allowed("http://127.0.0.1.evil.example/"));
    assert_false(sa_google_url_allowed("http://10.0.0.1/"));
    assert_false(sa_google_url_allowed("ftp://127.0.0.1/"));
    assert_false(sa_google_url_allowed("file:///etc/passwd"));
    assert_false(sa_google_url_allowed(""));
    assert_false(sa_google_url_allowed(NULL));

    /* sa_config_load refuses such a URL; a configuration made otherwise still never gets
     * it contacted: every call checks the URL first. */
    sa_config bad = cfg;
    sa_error err = { 0 };
    sa_google_response res;
    snprintf(bad.google_userinfo_url, sizeof bad.google_userinfo_url, "http://evil.example/u");
    sa_google *g = sa_google_new(&bad, NULL, &err);
    assert_non_null(g);
    assert_int_equal(sa_google_http(g, bad.google_userinfo_url, NULL, NULL, &res, &err),
                     SA_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "not https"));
    assert_int_equal(res.status, 0);
    sa_google_response_clear(&res);
    sa_google_free(g);
}

static void test_escape(void **state)
{
    char *s = sa_google_escape("a b&c=d/e~f.g_h-i+\xc3\xa9");
    assert_non_null(s);
    assert_string_equal(s, "a%20b%26c%3Dd%2Fe~f.g_h-i%2B%C3%A9");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jwks_parse),
        cmocka_unit_test(test_jwks_parse_refusals),
        cmocka_unit_test(test_jwks_key_rules),
        cmocka_unit_test(test_jwks_e1_forgery),
        cmocka_unit_test(test_jwks_raw_kids_and_bounds),
        cmocka_unit_test(test_jwks_checked_document),
        cmocka_unit_test(test_max_age),
        cmocka_unit_test(test_rs256),
        cmocka_unit_test(test_at_hash),
        cmocka_unit_test(test_verify_good),
        cmocka_unit_test(test_verify_attacks),
        cmocka_unit_test(test_leeway),
        cmocka_unit_test(test_claims),
        cmocka_unit_test(test_tokeninfo_times),
        cmocka_unit_test(test_cache_google_down),
        cmocka_unit_test(test_input_checks),
        cmocka_unit_test(test_is_jwt),
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_escape),
    };
    return cmocka_run_group_tests_name("google", tests, setup, teardown);
}
