<?php

/**
 * STAND-IN FOR WHMCS, FOR TESTS ONLY: the sliver of WHMCS\Database\Capsule (Laravel's query builder) that the
 * module's hooks use — table(name)->where(column, value)->get() returning objects — over PDO to the test database.
 */

declare(strict_types=1);

namespace WHMCS\Database;

final class Capsule
{
    private static ?\PDO $pdo = null;

    public static function table(string $table): CapsuleQuery
    {
        if (self::$pdo === null) {
            self::$pdo = new \PDO((string) getenv('STANDIN_DB_DSN'), (string) getenv('STANDIN_DB_USER'),
                (string) getenv('STANDIN_DB_PASSWORD'), [\PDO::ATTR_ERRMODE => \PDO::ERRMODE_EXCEPTION]);
        }
        return new CapsuleQuery(self::$pdo, $table);
    }
}

final class CapsuleQuery
{
    /** @var list<array{string, mixed}> */
    private array $wheres = [];

    public function __construct(private \PDO $pdo, private string $table)
    {
        if (!preg_match('/^[A-Za-z0-9_]+$/', $table)) {
            throw new \InvalidArgumentException('bad table name');
        }
    }

    public function where(string $column, mixed $value): self
    {
        if (!preg_match('/^[A-Za-z0-9_]+$/', $column)) {
            throw new \InvalidArgumentException('bad column name');
        }
        $this->wheres[] = [$column, $value];
        return $this;
    }

    /** @return list<object> */
    public function get(): array
    {
        $sql = 'SELECT * FROM `' . $this->table . '`';
        if ($this->wheres !== []) {
            $sql .= ' WHERE ' . implode(' AND ', array_map(static fn ($w) => '`' . $w[0] . '` = ?', $this->wheres));
        }
        $stmt = $this->pdo->prepare($sql);
        $stmt->execute(array_map(static fn ($w) => $w[1], $this->wheres));
        return $stmt->fetchAll(\PDO::FETCH_OBJ);
    }
}
