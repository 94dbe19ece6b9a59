# demo/gen.awk - writes one file of the demo's workload: log-like lines,
# deterministic for a given seed (awk -v seed=N -v lines=L -f gen.awk).
BEGIN {
	srand(seed)
	split("GET POST PUT DELETE HEAD", verb, " ")
	split("200 200 200 201 204 301 304 400 403 404 500 503", code, " ")
	split("api users orders items search static images login cart report", part, " ")
	for (i = 0; i < lines; i++) {
		path = ""
		for (k = int(rand() * 4) + 1; k > 0; k--)
			path = path "/" part[int(rand() * 10) + 1]
		printf "2024-%02d-%02dT%02d:%02d:%02d host%03d %s %s?id=%d %s %d %.3fms\n",
		       int(rand() * 12) + 1, int(rand() * 28) + 1, int(rand() * 24), int(rand() * 60),
		       int(rand() * 60), int(rand() * 200), verb[int(rand() * 5) + 1], path,
		       int(rand() * 100000), code[int(rand() * 12) + 1], int(rand() * 50000),
		       rand() * 900
	}
}
