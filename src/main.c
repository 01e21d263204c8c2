/* main.c: the strata-server entry point; everything lives in server.c so
 * that unit tests can link every module without a second main(). */
int server_main(int argc, char **argv);

int main(int argc, char **argv) { return server_main(argc, argv); }
