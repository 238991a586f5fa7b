/* hello-cgi: the floor of plain CGI. The smallest CGI program: no library, one answer on
 * standard output, so its cost is what the web server's fork + exec + environment cost on this
 * machine. Built by tests/bench/deploy.py: cc -O2 -o hello-cgi hello_cgi.c */
#include <stdio.h>

int main(void)
{
    fputs("Status: 200 OK\r\n"
          "Content-Type: application/json\r\n"
          "Content-Length: 15\r\n"
          "\r\n"
          "{\"status\":\"ok\"}", stdout);
    return 0;
}
