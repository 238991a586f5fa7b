/* hello: the benchmark's floor. The smallest useful FastCGI responder, on the same libfcgi
 * stdio API (FCGI_Accept / FCGI_fwrite / FCGI_Finish) and behind the same lighttpd as the
 * socialauth endpoints, so its throughput is what lighttpd + mod_fastcgi + libfcgi cost on this
 * machine. Each endpoint's requests/s is reported as a ratio to this program's, measured in the
 * same run. Built by tests/bench/bench.py: cc -O2 -o hello hello.c -lfcgi */
#include <fcgi_stdio.h>
#include <string.h>

int main(void)
{
    static const char answer[] =
        "Status: 200 OK\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 15\r\n"
        "\r\n"
        "{\"status\":\"ok\"}";
    while (FCGI_Accept() >= 0) {
        FCGI_fwrite((void *)answer, 1, sizeof answer - 1, FCGI_stdout);
        FCGI_Finish();
    }
    return 0;
}
