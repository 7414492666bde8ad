"""What the S3 drivers share: data calls (minio-py), files for the panel (botocore), the urllib3 pool."""
