"""The MinIO driver: admin API through minio-py's MinioAdmin, data through minio-py, its errors, its panel part."""
