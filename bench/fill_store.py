# Prints the SQL that fills an llmgw SQLite store (schema made by llmgw) with N consumers,
# each with one API key llmgw_<48 hex digits of i> (stored as its SHA-256), in one transaction.
# Usage: python3 bench/fill_store.py N | sqlite3 store.db   (bench/store_load.sh, store_path.sh)
import hashlib
import sys

n = int(sys.argv[1])
print("BEGIN;")
for i in range(n):
    key = "llmgw_%048x" % i
    digest = hashlib.sha256(key.encode()).hexdigest()
    print(f"INSERT INTO consumers VALUES ('customer-{i:06d}','free',NULL,0,'{{}}',1764800000,1764800000);")
    print(f"INSERT INTO api_keys (id,consumer,prefix,label,sha256,created_at) VALUES "
          f"('key_{i:016x}','customer-{i:06d}','{key[:12]}','bench','{digest}',1764800000);")
print("COMMIT;")
