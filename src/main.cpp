// Temporary entry point while the foundation lands (replaced by the real one in this session).
int main() { return 0; }
