module github.com/heedhq/heed

go 1.26

require go.yaml.in/yaml/v3 v3.0.6

require github.com/sony/gobreaker/v2 v2.4.0
